/**
 * The storage types of converted weights (`emotion2vec convert --dtype`): float32 as is, float16 (half the
 * size), or int8 with one symmetric scale per output channel (a quarter of the size). Stored values are turned
 * back into float32 at load when the model computes in float32; computing in int8 (`LoadOptions.compute`), the
 * encoder's int8 matrices go to the int8 kernels as they are, and a float32 model's are quantized at load here,
 * exactly as the conversion stores them.
 */
import { CheckpointError, UsageError, quote } from '../errors.js';
import { DTYPE_BYTES, HOST_IS_LITTLE_ENDIAN, floatToHalf, halfToFloat } from '../io/bytes.js';
import type { StateDict, TensorEntry } from './state-dict.js';

/** What `convert --dtype` accepts. */
export const WEIGHT_DTYPES = ['float32', 'float16', 'int8'] as const;
export type WeightDType = (typeof WEIGHT_DTYPES)[number];

/** How a tensor is stored when not as float32 (the manifest entry's `quantization`, tfjs' field name). */
export type Quantization =
  | { readonly dtype: 'float16' }
  /** `value = q * scales[channel]`, channel = the first (output) dimension of PyTorch's layout. */
  | { readonly dtype: 'int8'; readonly scales: number[] };

/** Largest finite float16: larger weights cannot be stored as float16. */
const FLOAT16_MAX = 65504;
/**
 * int8 is for weight matrices only (rank >= 2 with enough elements to matter): biases, norms and the small
 * tensors stay float32, since they are a negligible share of the bytes and the rounding there hurts most.
 */
const INT8_MIN_ELEMENTS = 1024;

/** The storage of one tensor under `dtype`: undefined means float32. */
export function storageFor(dtype: WeightDType, shape: readonly number[]): 'float16' | 'int8' | undefined {
  if (dtype === 'float16') return 'float16';
  const count = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'int8' && shape.length >= 2 && count >= INT8_MIN_ELEMENTS) return 'int8';
  return undefined;
}

/** Bytes a tensor of `count` elements takes when stored as `storage`. */
export function storedBytes(storage: 'float16' | 'int8' | undefined, count: number): number {
  return count * DTYPE_BYTES[storage ?? 'float32'];
}

/** Encodes `values` (PyTorch layout `shape`) as `storage`; returns little-endian bytes and the manifest field. */
export function encodeWeights(
  values: Float32Array,
  shape: readonly number[],
  storage: 'float16' | 'int8',
  name: string,
): { bytes: Uint8Array; quantization: Quantization } {
  if (storage === 'float16') {
    const bytes = new Uint8Array(values.length * 2);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) {
      const value = values[i]!;
      if (Math.abs(value) > FLOAT16_MAX) {
        throw new UsageError(
          'INVALID_ARGUMENT',
          `Cannot store ${quote(name, 200)} as float16: it holds ${value}, beyond float16's range (±${FLOAT16_MAX}). Convert with --dtype float32 or int8.`,
        );
      }
      view.setUint16(i * 2, floatToHalf(value), true);
    }
    return { bytes, quantization: { dtype: 'float16' } };
  }
  const bytes = new Uint8Array(values.length);
  const scales = new Float32Array(shape[0]!);
  quantizeInt8Into(values, new Int8Array(bytes.buffer), scales);
  return { bytes, quantization: { dtype: 'int8', scales: [...scales] } };
}

/**
 * The int8 form of a float32 matrix (`values`, PyTorch's (out, in) layout, row-major): one symmetric scale per
 * output channel (`max |row| / 127`, as float32) into `scales`, each value rounded to its nearest multiple into `out`.
 */
export function quantizeInt8Into(values: Float32Array, out: Int8Array, scales: Float32Array): void {
  const channels = scales.length;
  const perChannel = values.length / channels;
  for (let c = 0; c < channels; c++) {
    const start = c * perChannel;
    const end = start + perChannel;
    // Plain indexed loops: this runs over every matrix of a model quantized at load (300 M values, large).
    let largest = 0;
    for (let i = start; i < end; i++) {
      const magnitude = Math.abs(values[i]!);
      if (magnitude > largest) largest = magnitude;
    }
    // A float32 scale, so the reader's float32 arithmetic reproduces exactly what was written.
    const scale = Math.fround(largest / 127);
    scales[c] = scale;
    if (scale === 0) {
      out.fill(0, start, end);
      continue;
    }
    for (let i = start; i < end; i++) out[i] = Math.round(values[i]! / scale);
  }
}

/**
 * The same tensors, each float32 (or float16) weight matrix that `convert --dtype int8` would store as int8 also
 * offering that int8 form (`readInt8Into`, quantized when read): what a float32 model computing in int8 loads.
 * Tensors stored as int8 already offer theirs.
 */
export function withInt8Matrices(tensors: StateDict): StateDict {
  const out: StateDict = new Map();
  for (const [name, entry] of tensors) {
    if (entry.readInt8Into || storageFor('int8', entry.shape) !== 'int8') {
      out.set(name, entry);
      continue;
    }
    const quantized = Object.create(entry) as TensorEntry;
    (quantized as { readInt8Into: TensorEntry['readInt8Into'] }).readInt8Into = (values, scales) =>
      quantizeInt8Into(entry.read(), values, scales);
    out.set(name, quantized);
  }
  return out;
}

/**
 * Decodes `count` stored elements back into float32 (the inverse of encodeWeights, up to its rounding), into `out` when
 * given.
 */
export function decodeWeights(
  bytes: Uint8Array,
  quantization: Quantization,
  count: number,
  out: Float32Array = new Float32Array(count),
): Float32Array {
  if (quantization.dtype === 'float16') {
    // One table lookup per element: halfToFloat on each of 90 M base weights took seconds.
    const table = halfTable();
    if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
      const halves = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
    } else {
      const view = new DataView(bytes.buffer, bytes.byteOffset, count * 2);
      for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)]!;
    }
    return out;
  }
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, count);
  const perChannel = count / quantization.scales.length;
  for (let c = 0; c < quantization.scales.length; c++) {
    const scale = quantization.scales[c]!;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) out[i] = signed[i]! * scale;
  }
  return out;
}

let halfValues: Float32Array | null = null;
/** Every float16 bit pattern's value (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (!halfValues) {
    halfValues = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) halfValues[bits] = halfToFloat(bits);
  }
  return halfValues;
}

/**
 * Checks a manifest entry's `quantization` field: a known stored type, and for int8 one finite, non-negative
 * scale per output channel. Returns it typed, or undefined for float32.
 */
export function checkQuantization(value: unknown, name: string, shape: readonly number[]): Quantization | undefined {
  if (value === undefined) return undefined;
  const fail = (what: string): never => {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json is damaged: the quantization of ${quote(name, 200)} ${what}. Convert the checkpoint again with \`emotion2vec convert\`.`,
    );
  };
  if (typeof value !== 'object' || value === null) return fail(`is ${quote(value, 100)}, not an object`);
  const { dtype, scales } = value as { dtype?: unknown; scales?: unknown };
  if (dtype === 'float16') return { dtype };
  if (dtype !== 'int8') return fail(`names the stored type ${quote(dtype, 100)} (this library reads float16 and int8)`);
  if (shape.length < 2) return fail('is int8 on a tensor of rank below 2');
  if (!Array.isArray(scales) || scales.length !== shape[0])
    return fail(`needs ${shape[0]} scales (one per output channel)`);
  if (!scales.every((s) => typeof s === 'number' && Number.isFinite(s) && s >= 0))
    return fail('has a scale that is not a finite non-negative number');
  return { dtype, scales };
}
