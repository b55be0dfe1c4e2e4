/**
 * Typed values to and from raw bytes. Checkpoints, safetensors, .npy files and converted weight shards all
 * store little-endian numbers (torch archives may say big); this is the one place that turns them into
 * float32, without a copy when the bytes are already float32 in this machine's order and aligned.
 */

/** Element types that checkpoint files may store. Everything is read as float32. */
export type StoredDType =
  'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** Whether this machine stores numbers little-endian (every current browser and Node platform does). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes per element of each stored type. */
export const DTYPE_BYTES: Record<StoredDType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/**
 * Reads `count` elements of `dtype` from `bytes` as float32. Returns a view (no copy) when the bytes are
 * float32 in host order and 4-byte aligned; otherwise converts element by element.
 */
export function toFloat32(bytes: Uint8Array, dtype: StoredDType, count: number, littleEndian = true): Float32Array {
  const absolute = bytes.byteOffset;
  if (dtype === 'float32' && littleEndian === HOST_IS_LITTLE_ENDIAN && absolute % 4 === 0) {
    return new Float32Array(bytes.buffer, absolute, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * DTYPE_BYTES[dtype]);
  const out = new Float32Array(count);
  const le = littleEndian;
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, le);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, le);
      break;
    case 'float16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, le));
      break;
    case 'bfloat16': {
      // bfloat16 is the top half of a float32: shift it back into place.
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, le) << 16);
        out[i] = word.getFloat32(0);
      }
      break;
    }
    case 'int64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, le));
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, le);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, le);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case 'uint8':
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = view.getUint8(i);
      break;
  }
  return out;
}

/** IEEE 754 half precision bits -> number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** float32 values as little-endian bytes: a view on little-endian hosts, a converted copy otherwise. */
export function float32ToLittleEndian(values: Float32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/**
 * A number -> IEEE 754 half precision bits, rounded to nearest even (the inverse of halfToFloat). Hand-written:
 * Float16Array is not in every Node and browser this package supports.
 */
export function floatToHalf(value: number): number {
  const word = new DataView(new ArrayBuffer(4));
  word.setFloat32(0, value);
  const bits = word.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa into place, rounding to nearest even.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    const rounded = roundShift(full, shift);
    return sign | rounded;
  }
  const rounded = roundShift((halfExponent << 23) | mantissa, 13);
  // A mantissa carry rolls into the exponent, and up to infinity: both are the right half values.
  return sign | Math.min(rounded, 0x7c00);
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const truncated = value >>> shift;
  const remainder = value - truncated * 2 ** shift;
  const half = 2 ** (shift - 1);
  return remainder > half || (remainder === half && truncated & 1) ? truncated + 1 : truncated;
}

/** The chunks of a stream read in pieces (a response body), joined into one array of `total` bytes. */
export function concatBytes<Buffer extends ArrayBufferLike>(
  chunks: readonly Uint8Array<Buffer>[],
  total: number,
): Uint8Array<Buffer | ArrayBuffer> {
  if (chunks.length === 1 && chunks[0]!.length === total) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
