/**
 * The int8 kernels' arithmetic in float64 (src/backend/wasm/int8/int8-matmul.c, its header comment), for the
 * tests: per-row quantization done exactly as the kernels do it in float32 (so the integers match), integer sums,
 * then the scales and bias in float64. Also a bump allocator over a WebAssembly.Memory.
 */
import type { Int8Variant } from '../../src/backend/wasm/int8/int8-matmul.js';

const f32 = Math.fround;

/** Round to nearest, ties to even (wasm's f32.nearest). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Quantized rows: values q (m x k), and per row x ~ scale q + offset; scaledSum = scale * sum_k q. */
export interface QuantizedRows {
  q: Int32Array;
  scale: Float64Array;
  offset: Float64Array;
  scaledSum: Float64Array;
}

/**
 * Both variants: asymmetric, q = nearest((x - min) 255 / (max - min)) - 128 in [-128, 127], offset = min + 128
 * scale. Every step in float32, as the kernels.
 */
export function quantizeRowsReference(x: Float32Array, m: number, k: number): QuantizedRows {
  const q = new Int32Array(m * k);
  const scale = new Float64Array(m);
  const offset = new Float64Array(m);
  const scaledSum = new Float64Array(m);
  for (let row = 0; row < m; row++) {
    const values = x.subarray(row * k, (row + 1) * k);
    let low = values[0]!;
    let high = values[0]!;
    for (const v of values) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
    const range = f32(high - low);
    const inverse = range > 0 ? f32(255 / range) : 0;
    scale[row] = f32(range / 255);
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const value = Math.min(255, Math.max(0, roundHalfEven(f32(f32(values[i]! - low) * inverse)))) - 128;
      q[row * k + i] = value;
      sum += value;
    }
    offset[row] = f32(low + f32(128 * scale[row]!));
    scaledSum[row] = f32(scale[row]! * sum);
  }
  return { q, scale, offset, scaledSum };
}

/** Packed weights: values u (n x k), and per channel w ~ scale u + offset; correction = scale sum_k u + offset k. */
export interface PackedWeights {
  u: Int32Array;
  scale: Float64Array;
  offset: Float64Array;
  correction: Float64Array;
}

/**
 * simd128: the int8 values as they are (offset 0). relaxed: requantized to 7 bits, u = nearest((q - min) 127 / (max -
 * min)).
 */
export function packWeightsReference(
  variant: Int8Variant,
  w: Int8Array,
  scales: Float32Array,
  k: number,
  n: number,
): PackedWeights {
  const u = new Int32Array(n * k);
  const scale = new Float64Array(n);
  const offset = new Float64Array(n);
  const correction = new Float64Array(n);
  for (let col = 0; col < n; col++) {
    const values = w.subarray(col * k, (col + 1) * k);
    if (variant === 'simd128') {
      u.set(values, col * k);
      scale[col] = scales[col]!;
      correction[col] = f32(scale[col]! * values.reduce((a, b) => a + b, 0));
      continue;
    }
    let low = values[0]!;
    let high = values[0]!;
    for (const v of values) {
      low = Math.min(low, v);
      high = Math.max(high, v);
    }
    const inverse = high > low ? f32(127 / (high - low)) : 0;
    scale[col] = f32(scales[col]! * f32((high - low) / 127));
    let sum = 0;
    for (let i = 0; i < k; i++) {
      const value = Math.min(127, roundHalfEven(f32((values[i]! - low) * inverse)));
      u[col * k + i] = value;
      sum += value;
    }
    offset[col] = f32(scales[col]! * low);
    correction[col] = f32(f32(scale[col]! * sum) + f32(offset[col]! * k));
  }
  return { u, scale, offset, correction };
}

/**
 * out[m, n] = sa sw D + (sa sum q) ow + oa correction + bias in float64, D = sum_k q u (exact); also each entry's
 * magnitude (the sum of its terms' absolute values) for tolerances.
 */
export function int8ProductReference(
  rows: QuantizedRows,
  weights: PackedWeights,
  bias: Float32Array | null,
  m: number,
  k: number,
  n: number,
): { out: Float64Array; magnitude: Float64Array } {
  const out = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let col = 0; col < n; col++) {
    for (let row = 0; row < m; row++) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += rows.q[row * k + i]! * weights.u[col * k + i]!;
      const terms = [
        rows.scale[row]! * weights.scale[col]! * dot,
        rows.scaledSum[row]! * weights.offset[col]!,
        rows.offset[row]! * weights.correction[col]!,
        bias ? bias[col]! : 0,
      ];
      out[row * n + col] = terms.reduce((a, b) => a + b, 0);
      magnitude[row * n + col] = terms.reduce((a, b) => a + Math.abs(b), 0);
    }
  }
  return { out, magnitude };
}

/** Hands out 16-byte-aligned blocks of a memory from `start` up, growing it as needed. */
export class BumpAllocator {
  private top: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    start = 1024,
  ) {
    this.top = start;
  }

  allocate(bytes: number): number {
    const address = this.top;
    this.top = Math.ceil((address + bytes) / 16) * 16;
    const missing = this.top - this.memory.buffer.byteLength;
    if (missing > 0) this.memory.grow(Math.ceil(missing / 65536));
    return address;
  }

  /** Allocates and copies `values` in. */
  put(values: Float32Array | Int8Array): number {
    const address = this.allocate(values.byteLength);
    new Uint8Array(this.memory.buffer, address, values.byteLength).set(
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    );
    return address;
  }

  floats(address: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, count);
  }
}
