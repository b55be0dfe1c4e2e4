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

/** Quantized rows: q (m x k), each row's scale and offset (x ~ scale q + offset). */
export interface QuantizedRows {
  q: Int32Array;
  scale: Float64Array;
  offset: Float64Array;
}

/**
 * simd128: symmetric, q = nearest(x 127 / absmax) in [-127, 127]. relaxed: q = nearest((x - min) 127 / (max - min))
 * in [0, 127], offset = min. Every step in float32, as the kernels.
 */
export function quantizeRowsReference(variant: Int8Variant, x: Float32Array, m: number, k: number): QuantizedRows {
  const q = new Int32Array(m * k);
  const scale = new Float64Array(m);
  const offset = new Float64Array(m);
  for (let row = 0; row < m; row++) {
    const values = x.subarray(row * k, (row + 1) * k);
    if (variant === 'simd128') {
      let largest = 0;
      for (const v of values) largest = Math.max(largest, Math.abs(v));
      const inverse = largest > 0 ? f32(127 / largest) : 0;
      scale[row] = f32(largest / 127);
      for (let i = 0; i < k; i++) q[row * k + i] = Math.min(127, Math.max(-127, roundHalfEven(f32(values[i]! * inverse))));
    } else {
      let low = values[0]!;
      let high = values[0]!;
      for (const v of values) {
        low = Math.min(low, v);
        high = Math.max(high, v);
      }
      const range = f32(high - low);
      const inverse = range > 0 ? f32(127 / range) : 0;
      scale[row] = f32(range / 127);
      offset[row] = low;
      for (let i = 0; i < k; i++) q[row * k + i] = Math.min(127, Math.max(0, roundHalfEven(f32(f32(values[i]! - low) * inverse))));
    }
  }
  return { q, scale, offset };
}

/**
 * out[m, n] = sw[n] (sa[m] D[m, n] + offset[m] R[n]) + bias[n] in float64, D = sum_k q qw (exact), R[n] = sum_k qw.
 * Also returns each entry's magnitude (the sum of its terms' absolute values) for tolerances.
 */
export function int8ProductReference(rows: QuantizedRows, weights: Int8Array, scales: Float32Array, bias: Float32Array | null, m: number, k: number, n: number): { out: Float64Array; magnitude: Float64Array } {
  const out = new Float64Array(m * n);
  const magnitude = new Float64Array(m * n);
  for (let col = 0; col < n; col++) {
    const w = weights.subarray(col * k, (col + 1) * k);
    let sumW = 0;
    for (const v of w) sumW += v;
    for (let row = 0; row < m; row++) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += rows.q[row * k + i]! * w[i]!;
      const product = scales[col]! * rows.scale[row]! * dot;
      const correction = scales[col]! * rows.offset[row]! * sumW;
      const b = bias ? bias[col]! : 0;
      out[row * n + col] = product + correction + b;
      magnitude[row * n + col] = Math.abs(product) + Math.abs(correction) + Math.abs(b);
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
    new Uint8Array(this.memory.buffer, address, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return address;
  }

  floats(address: number, count: number): Float32Array {
    return new Float32Array(this.memory.buffer, address, count);
  }
}
