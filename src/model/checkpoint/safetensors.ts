/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the raw little-endian data. Hand-written because the format is that short and
 * the npm readers are Node-only or pull in a runtime; this one works on bytes in any JavaScript engine.
 */
import { CheckpointError, quote } from '../../errors.js';
import { MAX_TENSOR_RANK } from '../limits.js';
import { DTYPE_BYTES, float32ToLittleEndian, toFloat32, type StoredDType } from '../../io/bytes.js';
import type { CheckpointContents, TensorEntry } from '../state-dict.js';
import { stripDataParallelPrefix } from './unwrap.js';

const DTYPES: Record<string, StoredDType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** The header may not be larger than this (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Whether the bytes plausibly start a safetensors file: a sane header length followed by '{'. */
export function looksLikeSafetensors(bytes: Uint8Array): boolean {
  if (bytes.length < 9) return false;
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return length > 1 && length <= MAX_HEADER_BYTES && bytes[8] === 0x7b;
}

/** Reads a .safetensors file; tensors are converted to float32 when read. */
export function readSafetensors(bytes: Uint8Array, fileName: string): CheckpointContents {
  if (bytes.length < 8)
    throw new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `${fileName} is ${bytes.length} bytes long: too short for a safetensors file. Download it again.`,
    );
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES)
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} declares a ${headerLength}-byte header: not a safetensors file.`,
    );
  if (8 + headerLength > bytes.length) {
    throw new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `${fileName} ends inside its header (${bytes.length} bytes, header needs ${8 + headerLength}): the file is truncated. Download it again.`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as Record<string, unknown>;
  } catch (error) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} has an unreadable safetensors header (${quote((error as Error).message, 300)}).`,
      { cause: error },
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName}: the safetensors header is ${quote(header)}, not an object of tensors.`,
    );
  }
  const data = bytes.subarray(8 + headerLength);
  const notes: string[] = [];
  let tensors = new Map<string, TensorEntry>();
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const entry = checkEntry(name, value, fileName);
    ranges.push({ name, begin: entry.data_offsets[0], end: entry.data_offsets[1] });
    const dtype = DTYPES[entry.dtype];
    const [begin, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (!dtype) {
      tensors.set(name, {
        shape: entry.shape,
        dtype: 'float32',
        read: () => unsupportedDtype(name, entry.dtype, fileName),
      });
      continue;
    }
    if (end - begin !== count * DTYPE_BYTES[dtype]) {
      throw new CheckpointError(
        'CHECKPOINT_FORMAT',
        `${fileName}: tensor ${quote(name)} of shape [${entry.shape.join(', ')}] ${entry.dtype} spans ${end - begin} bytes instead of ${count * DTYPE_BYTES[dtype]}.`,
      );
    }
    if (end > data.length) {
      throw new CheckpointError(
        'CHECKPOINT_TRUNCATED',
        `${fileName}: tensor ${quote(name)} ends at byte ${end} of a ${data.length}-byte data section: the file is truncated. Download it again.`,
      );
    }
    tensors.set(name, { shape: entry.shape, dtype, read: () => toFloat32(data.subarray(begin, end), dtype, count) });
  }
  checkDisjoint(ranges, fileName);
  tensors = stripDataParallelPrefix(tensors, notes);
  return { tensors, format: 'safetensors', notes };
}

/**
 * Tensors may not share or overlap bytes (the reference reader refuses it too): an aliased entry would load one
 * tensor's values as another's, silently. Empty tensors take no bytes and may sit anywhere.
 */
function checkDisjoint(ranges: { name: string; begin: number; end: number }[], fileName: string): void {
  const sorted = ranges.filter((range) => range.end > range.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const previous = sorted[i - 1]!;
    const current = sorted[i]!;
    if (current.begin < previous.end) {
      throw new CheckpointError(
        'CHECKPOINT_FORMAT',
        `${fileName}: tensors ${quote(previous.name)} (bytes ${previous.begin}-${previous.end}) and ${quote(current.name)} (bytes ${current.begin}-${current.end}) overlap; ` +
          'each tensor must have bytes of its own. The file is damaged or not a genuine safetensors file.',
      );
    }
  }
}

function checkEntry(name: string, value: unknown, fileName: string): HeaderEntry {
  const entry = value as Partial<HeaderEntry> | null;
  const valid =
    entry !== null &&
    typeof entry === 'object' &&
    typeof entry.dtype === 'string' &&
    Array.isArray(entry.shape) &&
    entry.shape.length <= MAX_TENSOR_RANK &&
    entry.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
    Number.isSafeInteger(entry.shape.reduce((a, b) => a * b, 1)) &&
    Array.isArray(entry.data_offsets) &&
    entry.data_offsets.length === 2 &&
    entry.data_offsets.every((o) => Number.isSafeInteger(o) && o >= 0) &&
    entry.data_offsets[0]! <= entry.data_offsets[1]!;
  if (!valid)
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName}: the header entry of tensor ${quote(name)} is malformed (${quote(value)}).`,
    );
  return entry as HeaderEntry;
}

function unsupportedDtype(name: string, dtype: string, fileName: string): never {
  throw new CheckpointError(
    'CHECKPOINT_DTYPE',
    `${fileName}: tensor ${quote(name)} has dtype ${quote(dtype, 20)}, which cannot be read as float32. Save it as F32, F16 or BF16.`,
  );
}

/** A float32 tensor to write. */
export interface SafetensorsInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Writes float32 tensors as a .safetensors file (header padded to 8 bytes, as the reference writer does). */
export function writeSafetensors(tensors: readonly SafetensorsInput[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const { name, shape, data } of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length)
      throw new CheckpointError(
        'CHECKPOINT_TENSORS',
        `writeSafetensors: tensor ${name} has ${data.length} values for shape [${shape.join(', ')}].`,
      );
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.fill(0x20, 8, 8 + headerLength); // space padding keeps the header valid JSON
  out.set(json, 8);
  let position = 8 + headerLength;
  for (const { data } of tensors) {
    out.set(float32ToLittleEndian(data), position);
    position += data.byteLength;
  }
  return out;
}
