import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Linear } from '../../src/layers/linear.js';
import { ParameterSet, type Parameter } from '../../src/layers/parameters.js';
import { startInt8Compute } from '../../src/backend/kernels.js';
import { withInt8Matrices } from '../../src/model/weight-dtypes.js';
import { useBackend } from '../support/backend.js';
import { maxAbsDiff, randomArray } from '../support/fixtures.js';
import { buildLayer, evaluate, heapOffset, linear64, stateDictOf } from '../support/layers.js';

const [inDim, outDim] = [12, 7];
const w = randomArray(outDim * inDim, 1);
const b = randomArray(outDim, 2);
const x = randomArray(2 * 3 * inDim, 3);
const expected = linear64(x, 6, w, outDim, inDim, b);

/** Three calls, each on a (2, 3, in) batch and on one row: every output within 1e-5 of the float64 reference. */
function expectReferenceOnEveryCall(layer: Linear): void {
  for (let call = 0; call < 3; call++) {
    const { data } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
    expect(maxAbsDiff(data, expected), `call ${call}`).toBeLessThan(1e-5);
    const single = evaluate(() => layer.apply(tf.tensor2d(x.subarray(0, inDim), [1, inDim])));
    expect(maxAbsDiff(single.data, expected.subarray(0, outDim))).toBeLessThan(1e-5);
  }
}

function buildFc() {
  return buildLayer(
    (p) => new Linear(p, 'fc', inDim, outDim),
    stateDictOf({ 'fc.weight': { shape: [outDim, inDim], data: w }, 'fc.bias': { shape: [outDim], data: b } }),
  );
}

describe('Linear', () => {
  beforeAll(() => useBackend('cpu'));

  it('computes x W^T + b with W stored (out, in), over any leading axes', () => {
    const { layer, params } = buildFc();
    const { data, shape } = evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim])));
    expect(shape).toEqual([2, 3, outDim]);
    expect(maxAbsDiff(data, expected)).toBeLessThan(1e-5);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('Linear on wasm (one fused XNNPACK product with the bias)', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  it('matches the float64 reference on every call, for any number of rows', () => {
    const { layer, params } = buildFc();
    expectReferenceOnEveryCall(layer);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });
});

describe('Linear with a packed weight (LinearOptions.packed)', () => {
  afterAll(() => useBackend('cpu'));

  function buildPacked(packed = true) {
    const built = buildLayer(
      (p) => new Linear(p, 'fc', inDim, outDim, { packed }),
      stateDictOf({ 'fc.weight': { shape: [outDim, inDim], data: w }, 'fc.bias': { shape: [outDim], data: b } }),
    );
    const weight = (built.layer as unknown as { weight: Parameter }).weight.value;
    return { ...built, weight };
  }

  it('on wasm, frees the unpacked weight when packed and matches the float64 reference on every later call', async () => {
    await useBackend('wasm');
    const { layer, params, weight } = buildPacked();
    expect(heapOffset(weight)).toBeGreaterThan(0);
    params.packAll();
    expect(heapOffset(weight)).toBe(0);
    expectReferenceOnEveryCall(layer);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('keeps the unpacked weight when the packing product does not give the first row plus the bias (XNNPACK failed)', async () => {
    await useBackend('wasm');
    const { layer, params, weight } = buildPacked();
    // As when XNNPACK cannot create its operator: tfjs only warns, and the output holds whatever was there.
    const failed = vi
      .spyOn(tf.fused, 'matMul')
      .mockImplementationOnce(({ b }) => tf.zeros([1, (b as tf.Tensor).shape[1]!]));
    params.packAll();
    expect(failed).toHaveBeenCalledTimes(1);
    failed.mockRestore();
    expect(heapOffset(weight)).toBeGreaterThan(0);
    expectReferenceOnEveryCall(layer);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('refuses, with a typed error, to run once the backend changed (tfjs cannot move a packed weight)', async () => {
    await useBackend('wasm');
    const { layer, params } = buildPacked();
    params.packAll();
    await useBackend('cpu');
    const input = tf.tensor2d(x.subarray(0, inDim), [1, inDim]);
    const before = tf.memory().numTensors;
    expect(() => layer.apply(input)).toThrow(expect.objectContaining({ code: 'BACKEND_CHANGED' }));
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
    await useBackend('wasm');
    expect(maxAbsDiff(evaluate(() => layer.apply(tf.tensor3d(x, [2, 3, inDim]))).data, expected)).toBeLessThan(1e-5);
    params.dispose();
  });

  it('keeps the weight readable where nothing is packed: on cpu, and without the option', async () => {
    await useBackend('cpu');
    const onCpu = buildPacked();
    onCpu.params.packAll();
    expect(maxAbsDiff(onCpu.weight.dataSync() as Float32Array, transposed(w, outDim, inDim))).toBe(0);
    onCpu.params.dispose();
    await useBackend('wasm');
    const plain = buildPacked(false);
    expect(plain.params.packNext()).toBe(false);
    expect(maxAbsDiff(plain.weight.dataSync() as Float32Array, transposed(w, outDim, inDim))).toBe(0);
    plain.params.dispose();
  });
});

describe('Linear computing in int8 (loaded with ParameterSet.load({ int8: true }) on wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    expect(await startInt8Compute()).toBeNull();
  });
  afterAll(() => useBackend('cpu'));

  // Large enough for `convert --dtype int8` to store the weight as int8 (at least 1024 values).
  const [wideIn, wideOut] = [64, 40];
  const wideW = randomArray(wideOut * wideIn, 4).map((v) => v / 8);
  const wideB = randomArray(wideOut, 5);
  const wideX = randomArray(2 * 3 * wideIn, 6);
  const wideExpected = linear64(wideX, 6, wideW, wideOut, wideIn, wideB);

  /** The layer with its weight offered as int8 (quantized per output channel, as `convert --dtype int8`). */
  function buildInt8(packed: boolean) {
    const weights = withInt8Matrices(
      stateDictOf({
        'fc.weight': { shape: [wideOut, wideIn], data: wideW },
        'fc.bias': { shape: [wideOut], data: wideB },
      }),
    );
    const params = new ParameterSet();
    const layer = new Linear(params, 'fc', wideIn, wideOut, { packed });
    params.load(weights, { int8: true });
    return { layer, params };
  }

  it('packs the int8 weight with its bias and stays within the int8 error of the float64 reference', () => {
    const { layer, params } = buildInt8(true);
    params.packAll();
    for (let call = 0; call < 2; call++) {
      const { data, shape } = evaluate(() => layer.apply(tf.tensor3d(wideX, [2, 3, wideIn])));
      expect(shape).toEqual([2, 3, wideOut]);
      // Outputs of order 1: the int8 rounding of weights and activations moves them by about 1 %.
      const error = maxAbsDiff(data, wideExpected);
      expect(error).toBeLessThan(0.05);
      expect(error).toBeGreaterThan(1e-4);
    }
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('reads the weight as float32 where the layer does not pack it (a head)', () => {
    const { layer, params } = buildInt8(false);
    params.packAll();
    const { data } = evaluate(() => layer.apply(tf.tensor3d(wideX, [2, 3, wideIn])));
    expect(maxAbsDiff(data, wideExpected)).toBeLessThan(1e-5);
    params.dispose();
  });
});

/** (rows, cols) row-major -> its transpose, row-major. */
function transposed(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}
