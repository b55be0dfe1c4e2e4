/**
 * The int8 compute path through the kernel interface on tfjs' wasm heap (src/backend/wasm/int8-linear.ts): weights
 * read as int8, packed with their bias, products into tfjs tensors, against the float64 reference of the kernels'
 * own arithmetic (test/support/int8-reference.ts); memory and tensors accounted for.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attention,
  conv1d,
  groupedConv1d,
  int8Weight,
  int8WeightBytes,
  linear,
  prepareLinearWeight,
  startInt8Compute,
} from '../../../src/backend/kernels.js';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { wasmMemoryOf } from '../../../src/backend/wasm/heap.js';
import { int8ComputeInfo } from '../../../src/backend/wasm/int8-linear.js';
import { UsageError } from '../../../src/errors.js';
import { useBackend } from '../../support/backend.js';
import { randomArray } from '../../support/fixtures.js';
import { int8ProductReference, packWeightsReference, quantizeRowsReference } from '../../support/int8-reference.js';

function int8Values(count: number, seed: number): Int8Array {
  return Int8Array.from(randomArray(count, seed), (v) => Math.round(v * 127));
}

/** An (out, in) int8 weight on the heap, with its scales. */
function weightOf(values: Int8Array, scales: Float32Array, inFeatures: number): tf.Tensor {
  const weight = int8Weight([scales.length, inFeatures], (targetValues, targetScales) => {
    targetValues.set(values);
    targetScales.set(scales);
  });
  if (weight === null) throw new Error('int8 weights unavailable');
  return weight;
}

describe('int8 linear on the wasm backend', () => {
  beforeAll(async () => {
    await useBackend('wasm');
    expect(await startInt8Compute()).toBeNull();
  });

  it('starts on tfjs threads (2 here, one per core, the float32 default), with the SIMD128 kernels in Node 20', () => {
    const info = int8ComputeInfo();
    expect(info?.variant).toBe(Number(process.versions.node.split('.')[0]) < 22 ? 'simd128' : 'relaxed');
    expect(info?.threads).toBeGreaterThanOrEqual(1);
  });

  for (const [lead, k, n, withBias] of [
    [[1], 33, 17, true],
    [[2, 7], 64, 40, true],
    [[3, 5], 100, 9, false],
    [[257], 257, 33, true],
  ] as const) {
    it(`x [${lead.join(', ')}, ${k}] times an int8 (${n}, ${k}) weight${withBias ? ' plus bias' : ''}: the kernels' exact arithmetic`, () => {
      const m = (lead as readonly number[]).reduce((a, b) => a * b, 1);
      const values = int8Values(n * k, k + n);
      const scales = Float32Array.from(randomArray(n, 7), (v) => 0.001 + 0.01 * Math.abs(v));
      const biasValues = withBias ? randomArray(n, 9) : new Float32Array(n);
      const xValues = randomArray(m * k, 11);
      const before = tf.memory().numTensors;
      const weight = weightOf(values, scales, k);
      const bias = withBias ? tf.tensor1d(biasValues) : undefined;
      const prepared = prepareLinearWeight(weight, bias);
      expect(prepared).toMatchObject({ kind: 'int8', inFeatures: k, outFeatures: n });
      const x = tf.tensor(xValues, [...lead, k]);
      const out = linear(x, { weight, bias, prepared });
      expect(out.shape).toEqual([...lead, n]);
      const got = out.dataSync();
      const reference = int8ProductReference(
        quantizeRowsReference(xValues, m, k),
        packWeightsReference('simd128', values, scales, k, n),
        biasValues,
        m,
        k,
        n,
      );
      for (let i = 0; i < m * n; i++) {
        const error = Math.abs(got[i]! - reference.out[i]!) / (reference.magnitude[i]! || 1);
        expect(error, `entry ${i}`).toBeLessThan(5e-7);
      }
      tf.dispose([x, out, weight, ...(bias ? [bias] : [])]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  /** Each output row's patch, gathered in JS: frames [t * stride - left, ... + kernel) of x, zeros outside. */
  function patchesOf(
    x: Float32Array,
    frames: number,
    channels: number,
    kernel: number,
    stride: number,
    left: number,
    rows: number,
    channelBegin = 0,
    channelCount = channels,
  ): Float32Array {
    const patches = new Float32Array(rows * kernel * channelCount);
    for (let t = 0; t < rows; t++) {
      for (let j = 0; j < kernel; j++) {
        const frame = t * stride + j - left;
        if (frame < 0 || frame >= frames) continue;
        for (let c = 0; c < channelCount; c++)
          patches[(t * kernel + j) * channelCount + c] = x[frame * channels + channelBegin + c]!;
      }
    }
    return patches;
  }

  function expectClose(
    got: ArrayLike<number>,
    reference: { out: Float64Array; magnitude: Float64Array },
    at: (i: number) => number,
    count: number,
  ): void {
    for (let i = 0; i < count; i++) {
      const error = Math.abs(got[at(i)]! - reference.out[i]!) / (reference.magnitude[i]! || 1);
      expect(error, `entry ${i}`).toBeLessThan(5e-7);
    }
  }

  it('conv1d with an int8 weight (taps first): each output frame its input patch, read in place, times the weight', () => {
    const [batch, frames, channels, kernel, stride, n] = [2, 23, 5, 3, 2, 12];
    const k = kernel * channels;
    const rows = Math.floor((frames - kernel) / stride) + 1;
    const values = int8Values(n * k, 21);
    const scales = Float32Array.from(randomArray(n, 22), (v) => 0.001 + 0.01 * Math.abs(v));
    const xValues = randomArray(batch * frames * channels, 23);
    const before = tf.memory().numTensors;
    const weight = weightOf(values, scales, k);
    const prepared = prepareLinearWeight(weight, undefined);
    const x = tf.tensor3d(xValues, [batch, frames, channels]);
    const out = conv1d(x, { weight, kernel, stride, prepared });
    expect(out.shape).toEqual([batch, rows, n]);
    const got = out.dataSync();
    const variant = int8ComputeInfo()!.variant as 'simd128' | 'relaxed';
    for (let b = 0; b < batch; b++) {
      const item = xValues.subarray(b * frames * channels, (b + 1) * frames * channels);
      const patches = patchesOf(item, frames, channels, kernel, stride, 0, rows);
      const reference = int8ProductReference(
        quantizeRowsReference(patches, rows, k),
        packWeightsReference(variant, values, scales, k, n),
        new Float32Array(n),
        rows,
        k,
        n,
      );
      expectClose(got, reference, (i) => b * rows * n + i, rows * n);
    }
    tf.dispose([x, out, weight]);
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const kernel of [4, 5]) {
    it(`groupedConv1d with an int8 weight, kernel ${kernel}: same padding, T frames out, each group its own channels`, () => {
      const [batch, frames, channels, groups] = [2, 11, 16, 2];
      const groupChannels = channels / groups;
      const k = kernel * groupChannels;
      const values = int8Values(channels * k, 31 + kernel);
      const scales = Float32Array.from(randomArray(channels, 32), (v) => 0.001 + 0.01 * Math.abs(v));
      const biasValues = randomArray(channels, 33);
      const xValues = randomArray(batch * frames * channels, 34);
      const before = tf.memory().numTensors;
      const weight = weightOf(values, scales, k);
      const bias = tf.tensor1d(biasValues);
      const prepared = prepareLinearWeight(weight, bias);
      const x = tf.tensor3d(xValues, [batch, frames, channels]);
      const out = groupedConv1d(x, { weight, bias, kernel, groups, prepared });
      expect(out.shape).toEqual([batch, frames, channels]);
      const got = out.dataSync();
      const variant = int8ComputeInfo()!.variant as 'simd128' | 'relaxed';
      for (let b = 0; b < batch; b++) {
        const item = xValues.subarray(b * frames * channels, (b + 1) * frames * channels);
        for (let g = 0; g < groups; g++) {
          const first = g * groupChannels;
          const patches = patchesOf(
            item,
            frames,
            channels,
            kernel,
            1,
            Math.floor(kernel / 2),
            frames,
            first,
            groupChannels,
          );
          const reference = int8ProductReference(
            quantizeRowsReference(patches, frames, k),
            packWeightsReference(
              variant,
              values.subarray(first * k, (first + groupChannels) * k),
              scales.subarray(first, first + groupChannels),
              k,
              groupChannels,
            ),
            biasValues.subarray(first, first + groupChannels),
            frames,
            k,
            groupChannels,
          );
          expectClose(
            got,
            reference,
            (i) => (b * frames + Math.floor(i / groupChannels)) * channels + first + (i % groupChannels),
            frames * groupChannels,
          );
        }
      }
      tf.dispose([x, out, weight, bias]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  for (const [n, heads, headDim, biasKind] of [
    [37, 3, 8, 'per head'],
    [64, 4, 16, 'key mask'],
    [50, 2, 12, 'none'],
  ] as const) {
    it(`attention in int8, ${n} rows, ${heads} heads of ${headDim}, bias ${biasKind}: close to float32`, () => {
      const dim = heads * headDim;
      const qkvValues = randomArray(n * 3 * dim, n + heads);
      const before = tf.memory().numTensors;
      const qkv = tf.tensor2d(qkvValues, [n, 3 * dim]);
      // A per-head table for one item, or a key mask for two items (item 1's: its last 9 keys masked).
      const bias =
        biasKind === 'per head'
          ? tf.tensor4d(randomArray(heads * n * n, 3), [1, heads, n, n])
          : biasKind === 'key mask'
            ? tf.tensor4d(
                Float32Array.from({ length: 2 * n }, (_, i) => (i >= n && i % n >= n - 9 ? -1e9 : 0)),
                [2, 1, 1, n],
              )
            : null;
      const item = biasKind === 'key mask' ? 1 : 0;
      const int8 = attention(qkv, { bias, item, heads, int8: true });
      const float = attention(qkv, { bias, item, heads, int8: false });
      expect(int8.shape).toEqual([n, dim]);
      const [got, want] = [int8.dataSync(), float.dataSync()];
      // Each output is a weighted mean of v: int8 moves it by a small share of v's range (here about 8).
      let largest = 0;
      for (let i = 0; i < got.length; i++) largest = Math.max(largest, Math.abs(got[i]! - want[i]!));
      expect(largest).toBeGreaterThan(0);
      expect(largest).toBeLessThan(0.15);
      if (biasKind === 'key mask') {
        // Masked keys carry no weight: other values of theirs in the same range change nothing beyond rounding.
        const changed = qkvValues.slice();
        for (let row = n - 9; row < n; row++)
          for (let c = 2 * dim; c < 3 * dim; c++) changed[row * 3 * dim + c] = -changed[row * 3 * dim + c]!;
        const again = tf.tidy(() =>
          attention(tf.tensor2d(changed, [n, 3 * dim]), { bias, item, heads, int8: true }).dataSync(),
        );
        for (let i = 0; i < got.length; i++) expect(Math.abs(again[i]! - got[i]!)).toBeLessThan(0.05);
      }
      tf.dispose([qkv, int8, float, ...(bias ? [bias] : [])]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('frees every block: packing frees the int8 block it read, disposing frees the packed one (no heap growth)', () => {
    const [n, k] = [512, 4096];
    const values = int8Values(n * k, 3);
    const scales = new Float32Array(n).fill(0.01);
    const x = tf.ones([4, k]);
    const round = () => {
      const weight = weightOf(values, scales, k);
      const prepared = prepareLinearWeight(weight, undefined);
      linear(x, { weight, prepared }).dispose();
      weight.dispose();
    };
    round();
    const heap = wasmMemoryOf(tf.backend() as BackendWasm)!;
    const bytes = heap.buffer.byteLength;
    // 2 MB per weight: a block left behind in each of 40 rounds would grow the heap by 80 MB.
    for (let i = 0; i < 40; i++) round();
    expect(heap.buffer.byteLength).toBe(bytes);
    expect(int8WeightBytes(n, k)).toBe(n * k + 4 * n);
    x.dispose();
  });

  it('an empty batch gives an empty result; an unprepared int8 weight or a wrong width is refused', () => {
    const weight = weightOf(int8Values(8 * 16, 5), new Float32Array(8).fill(1), 16);
    expect(() => linear(tf.zeros([1, 16]), { weight })).toThrow(/must be prepared/);
    const prepared = prepareLinearWeight(weight, undefined);
    const empty = linear(tf.zeros([0, 16]), { weight, prepared });
    expect(empty.shape).toEqual([0, 8]);
    expect(() => linear(tf.zeros([2, 15]), { weight, prepared })).toThrow(/16 features/);
    tf.dispose([weight, empty]);
  });

  it('refuses to run once another backend is active (BACKEND_CHANGED), and runs again back on wasm', async () => {
    const weight = weightOf(int8Values(8 * 16, 5), new Float32Array(8).fill(1), 16);
    const prepared = prepareLinearWeight(weight, undefined);
    await useBackend('cpu');
    try {
      let error: unknown;
      try {
        linear(tf.zeros([1, 16]), { weight, prepared });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).code).toBe('BACKEND_CHANGED');
    } finally {
      await useBackend('wasm');
    }
    const out = linear(tf.ones([1, 16]), { weight, prepared });
    expect(out.shape).toEqual([1, 8]);
    tf.dispose([weight, out]);
  });
});

describe('int8 threads in Node', () => {
  const child = (threads: string) =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', 'test/backend/wasm/int8-exit.child.ts'], {
        encoding: 'utf8',
        // The timeout fails the test if a worker kept the process alive.
        timeout: 120_000,
        env: { ...process.env, EMOTION2VEC_WASM_THREADS: threads },
      })
        .trim()
        .split('\n')
        .pop()!,
    ) as { threads: number; fallback?: string; sum: number };

  it("run as many threads as tfjs' own, on its shared memory, and let the process end by itself", () => {
    const result = child('2');
    expect(result.threads).toBe(Math.min(2, availableParallelism()));
    // 64 x 256 outputs, each 256 x 1 x 0.5 (ones quantize exactly).
    expect(result.sum).toBe(64 * 256 * 128);
  }, 150_000);

  it("run on one thread with tfjs' single-threaded build, as its own products do", () => {
    expect(child('0')).toMatchObject({ threads: 1, sum: 64 * 256 * 128 });
  }, 150_000);
});

describe('int8 compute elsewhere', () => {
  it('cpu: not available, with the reason; no int8 weights', async () => {
    await useBackend('cpu');
    try {
      expect(await startInt8Compute()).toMatch(/'cpu' backend has no int8 kernels/);
      expect(int8WeightBytes(8, 16)).toBeNull();
      expect(int8Weight([8, 16], () => undefined)).toBeNull();
    } finally {
      await useBackend('wasm');
    }
  });
});
