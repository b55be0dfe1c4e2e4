import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';

/** A version-2.0 file as numpy writes one when the header outgrows 65535 bytes (4-byte header length). */
function encodeV2(data: Float32Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((12 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(12 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
  new DataView(out.buffer).setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), 12);
  out.set(new Uint8Array(data.buffer), 12 + header.length);
  return out;
}

describe('npy', () => {
  it('round-trips (D,) and (T, D) float32 arrays with a 64-byte aligned header', () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 3);
    for (const shape of [[12], [3, 4]]) {
      const bytes = encodeNpy(data, shape);
      const headerLength = new DataView(bytes.buffer).getUint16(8, true);
      expect((10 + headerLength) % 64).toBe(0);
      const decoded = decodeNpy(bytes);
      expect(decoded.shape).toEqual(shape);
      expect(Array.from(decoded.data)).toEqual(Array.from(data));
    }
  });

  it('reads version 2.0 files, also from an unaligned view', () => {
    const data = Float32Array.from([1, -2, 3.25, 4, 5, 6]);
    const file = encodeV2(data, [2, 3]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    for (const bytes of [file, shifted.subarray(1)]) {
      const decoded = decodeNpy(bytes);
      expect(decoded.shape).toEqual([2, 3]);
      expect(Array.from(decoded.data)).toEqual(Array.from(data));
    }
  });

  it('refuses every truncation of a v1 and a v2 file with a UsageError, never a RangeError', () => {
    const data = Float32Array.from([1, 2, 3]);
    for (const file of [encodeNpy(data, [3]), encodeV2(data, [3])]) {
      for (let length = 0; length < file.length; length++) {
        expect(() => decodeNpy(file.subarray(0, length)), `prefix of ${length} bytes`).toThrow(UsageError);
      }
    }
  });

  it('names the problem: wrong dtype, bad version, non-integer shape', () => {
    const good = encodeNpy(Float32Array.from([1, 2]), [2]);
    const f8 = good.slice();
    f8.set(new TextEncoder().encode("'<f8'"), new TextDecoder('latin1').decode(good).indexOf("'<f4'"));
    expect(() => decodeNpy(f8)).toThrow(/only little-endian float32/);
    const v9 = good.slice();
    v9[6] = 9;
    expect(() => decodeNpy(v9)).toThrow(/format version 9\.0/);
    const badShape = encodeNpy(Float32Array.from([1, 2]), [2]);
    badShape.set(new TextEncoder().encode('(x,)'), new TextDecoder('latin1').decode(badShape).indexOf('(2,)'));
    expect(() => decodeNpy(badShape)).toThrow(/non-negative integers/);
  });
});
