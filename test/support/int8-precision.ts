/**
 * How far the int8 kernels' products are from the float32 ones on realistic data: the base fixture's block-0
 * output (its first 128 of 273 real frames, the input of block 1: fewer frames keep the float64 references quick)
 * times block 1's synthetic weights (the fixtures' scale,
 * 1/sqrt(fan-in)), quantized per output channel by the converter itself (`encodeWeights`, as `convert --dtype
 * int8` stores them). fc2 gets GELU of the float64 fc1 output (tanh form: only its one-sided shape matters).
 * Also the error of float32 arithmetic on the dequantized int8 weights (what `--dtype int8` computes today), to
 * tell the weights' share of the error from the activations'.
 */
import { instantiateInt8Kernels, type Int8Variant } from '../../src/backend/wasm/int8/int8-matmul.js';
import { encodeWeights, decodeWeights } from '../../src/model/weight-dtypes.js';
import { loadNpy } from './fixtures.js';
import { BumpAllocator } from './int8-reference.js';
import { syntheticTensor } from './synthetic-weights.js';

export interface PrecisionRow {
  product: string;
  shape: [number, number, number];
  /** ||int8 kernel - float64 of the float32 inputs|| / ||float64 reference|| over the whole output. */
  relativeRms: number;
  /** max |int8 kernel - reference| / max |reference|. */
  relativeMax: number;
  /** The same two for float arithmetic on the dequantized int8 weights (activations unquantized). */
  weightsOnlyRms: number;
  weightsOnlyMax: number;
}

const SALT = 'base-v1';
const PREFIX = 'blocks.1.';
const FRAMES = 128;

function productFloat64(
  x: Float32Array | Float64Array,
  w: Float32Array,
  bias: Float32Array,
  m: number,
  k: number,
  n: number,
): Float64Array {
  const out = new Float64Array(m * n);
  for (let row = 0; row < m; row++) {
    for (let col = 0; col < n; col++) {
      let sum = bias[col]!;
      for (let i = 0; i < k; i++) sum += x[row * k + i]! * w[col * k + i]!;
      out[row * n + col] = sum;
    }
  }
  return out;
}

function errors(actual: ArrayLike<number>, reference: Float64Array): { rms: number; max: number } {
  let diff2 = 0;
  let ref2 = 0;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = actual[i]! - reference[i]!;
    diff2 += d * d;
    ref2 += reference[i]! ** 2;
    maxDiff = Math.max(maxDiff, Math.abs(d));
    maxRef = Math.max(maxRef, Math.abs(reference[i]!));
  }
  return { rms: Math.sqrt(diff2 / ref2), max: maxDiff / maxRef };
}

function gelu(v: number): number {
  return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
}

export async function measureInt8Precision(variant: Int8Variant): Promise<PrecisionRow[]> {
  const input = loadNpy('base', 'speech16k.block0');
  const d = input.shape[input.shape.length - 1]!;
  const m = Math.min(FRAMES, input.data.length / d);
  const x = input.data.subarray(0, m * d);
  const weight = (name: string, shape: number[]) => syntheticTensor(SALT, `${PREFIX}${name}`, shape);
  const fc1 = productFloat64(x, weight('mlp.fc1.weight', [4 * d, d]), weight('mlp.fc1.bias', [4 * d]), m, d, 4 * d);
  const hidden = Float32Array.from(fc1, gelu);
  const products: { product: string; x: Float32Array; name: string; k: number; n: number }[] = [
    { product: 'qkv', x, name: 'attn.qkv', k: d, n: 3 * d },
    { product: 'attention out', x, name: 'attn.proj', k: d, n: d },
    { product: 'fc1', x, name: 'mlp.fc1', k: d, n: 4 * d },
    { product: 'fc2 (GELU input)', x: hidden, name: 'mlp.fc2', k: 4 * d, n: d },
  ];
  const memory = new WebAssembly.Memory({ initial: 256, maximum: 16384 });
  const kernels = await instantiateInt8Kernels(memory, variant);
  const rows: PrecisionRow[] = [];
  for (const { product, x: a, name, k, n } of products) {
    const heap = new BumpAllocator(memory);
    const w = weight(`${name}.weight`, [n, k]);
    const bias = weight(`${name}.bias`, [n]);
    const { bytes, quantization } = encodeWeights(w, [n, k], 'int8', name);
    if (quantization.dtype !== 'int8') throw new Error('expected int8');
    const reference = productFloat64(a, w, bias, m, k, n);
    const weightsOnly = errors(productFloat64(a, decodeWeights(bytes, quantization, n * k), bias, m, k, n), reference);
    const packed = heap.allocate(kernels.packedBytes(k, n));
    kernels.packWeights(
      heap.put(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)),
      heap.put(Float32Array.from(quantization.scales)),
      heap.put(bias),
      k,
      n,
      packed,
    );
    const quantized = heap.allocate(kernels.quantizedBytes(m, k));
    const out = heap.allocate(4 * m * n);
    kernels.quantizeRows(heap.put(a), m, k, quantized);
    kernels.matmul(quantized, packed, out, m, k, n);
    const int8 = errors(heap.floats(out, m * n), reference);
    rows.push({
      product,
      shape: [m, k, n],
      relativeRms: int8.rms,
      relativeMax: int8.max,
      weightsOnlyRms: weightsOnly.rms,
      weightsOnlyMax: weightsOnly.max,
    });
  }
  return rows;
}
