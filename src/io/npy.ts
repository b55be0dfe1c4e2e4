/**
 * NumPy `.npy` files (format 1.0 to 3.0), float32 only: what the CLI writes for embeddings and what the
 * reference fixtures are stored as. Hand-written because the format is a short header plus raw bytes and
 * the npm packages for it either cannot write or pull in Node-only code.
 */
import { UsageError } from '../errors.js';
import { float32ToLittleEndian, toFloat32 } from './bytes.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** A float32 array with its shape, row-major. */
export interface NpyArray {
  readonly data: Float32Array;
  readonly shape: number[];
}

/** Encodes a float32 array as a `.npy` file (version 1.0, little-endian `<f4`, C order). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `encodeNpy: shape [${shape.join(', ')}] holds ${count} values but the data has ${data.length}.`,
    );
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(float32ToLittleEndian(data), 10 + header.length);
  return out;
}

/** Decodes a little-endian float32 `.npy` file. Other dtypes and Fortran order are refused with a clear error. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new UsageError('INVALID_ARGUMENT', 'Not a .npy file: it does not start with "\\x93NUMPY".');
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Unsupported .npy format version ${major}.${bytes[7]}: versions 1.0 to 3.0 are read. Re-save it with numpy.save.`,
    );
  }
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Truncated .npy file: ${bytes.length} bytes end inside the ${headerStart}-byte preamble. Re-save it with numpy.save.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (bytes.length < headerStart + headerLength) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Truncated .npy file: its header declares ${headerLength} bytes but only ${bytes.length - headerStart} follow. Re-save it with numpy.save.`,
    );
  }
  // Version 3.0 headers are UTF-8; ours (and NumPy's for plain dtypes) are ASCII, which both decoders read alike.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(headerStart, headerStart + headerLength),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr !== '<f4' || fortran !== 'False' || shapeText === undefined) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Unsupported .npy header ${header.trim()}: only little-endian float32 ('<f4') in C order is read.`,
    );
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Unsupported .npy header ${header.trim()}: the shape is not a tuple of non-negative integers.`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const start = headerStart + headerLength;
  if (bytes.length < start + count * 4) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Truncated .npy file: shape (${shape.join(', ')}) needs ${count * 4} data bytes, found ${bytes.length - start}.`,
    );
  }
  // A copy, so the result never aliases (or pins) the caller's file buffer.
  const data = toFloat32(bytes.subarray(start, start + count * 4), 'float32', count).slice();
  return { data, shape };
}
