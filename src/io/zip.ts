/**
 * Random access to the entries of a zip archive held in memory, with a byte bound on every read.
 *
 * Hand-written index, fflate for the inflating: fflate's `unzipSync` inflates an entry whole into a buffer of
 * the size the archive claims, so a 4 MB checkpoint whose storage entry claims (or truly inflates to) 3 GiB
 * costs 3 GiB. Reading the central directory ourselves gives each entry's compressed bytes, which we then
 * stream through fflate's `Inflate` and stop as soon as the bytes the caller needs are out.
 */
import { Inflate } from 'fflate';

/** One entry of the central directory. */
export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated; anything else is refused on read. */
  readonly method: number;
  readonly compressedSize: number;
  /** The size the archive declares for the inflated entry (a claim, checked while inflating). */
  readonly size: number;
  /** Offset of the local file header. */
  readonly localOffset: number;
  readonly encrypted: boolean;
}

/** A malformed archive, or a read the archive cannot satisfy. Callers turn it into their typed error. */
export class ZipError extends Error {
  constructor(
    message: string,
    readonly reason: 'damaged' | 'unsupported' | 'short',
  ) {
    super(message);
    this.name = 'ZipError';
  }
}

/** More entries than this is not a checkpoint (a large model has a few hundred). */
const MAX_ENTRIES = 1_000_000;
/** Compressed bytes handed to the inflater at a time: at deflate's 1032:1 ratio at most ~16 MiB comes out per push. */
const INFLATE_INPUT_CHUNK = 16 * 1024;

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;
const U32_MAX = 0xffffffff;

/** Reads the central directory. Throws ZipError for an archive whose directory is damaged or out of bounds. */
export function readZipIndex(bytes: Uint8Array): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const inside = (at: number, length: number) => at >= 0 && length >= 0 && at + length <= bytes.length;

  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end-of-central-directory record (the file is cut short)', 'damaged');
  let count = u16(eocd + 10);
  let directory = u32(eocd + 16);
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const record = u64(eocd - 12);
    if (!inside(record, 56) || u32(record) !== ZIP64_EOCD) throw new ZipError('its zip64 end record is out of bounds', 'damaged');
    count = u64(record + 32);
    directory = u64(record + 48);
  }
  if (count > MAX_ENTRIES) throw new ZipError(`it declares ${count} entries (at most ${MAX_ENTRIES} are read)`, 'damaged');

  const entries = new Map<string, ZipEntry>();
  let at = directory;
  for (let i = 0; i < count; i++) {
    if (!inside(at, 46) || u32(at) !== CENTRAL_HEADER) throw new ZipError(`central directory entry ${i + 1} is out of bounds or damaged`, 'damaged');
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    if (!inside(at + 46, nameLength + extraLength + commentLength)) throw new ZipError(`central directory entry ${i + 1} runs past the end`, 'damaged');
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64: the 32-bit fields that read 0xFFFFFFFF are in the 0x0001 extra field, in this order.
    for (let extra = at + 46 + nameLength, end = extra + extraLength; extra + 4 <= end; ) {
      const id = u16(extra);
      const length = u16(extra + 2);
      let field = extra + 4;
      if (id === 0x0001) {
        const next = (): number => {
          if (field + 8 > extra + 4 + length) throw new ZipError(`entry ${name.slice(0, 100)} has a short zip64 field`, 'damaged');
          const value = u64(field);
          field += 8;
          return value;
        };
        if (size === U32_MAX) size = next();
        if (compressedSize === U32_MAX) compressedSize = next();
        if (localOffset === U32_MAX) localOffset = next();
      }
      extra += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, localOffset, encrypted: (flags & 1) === 1 });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/**
 * The first `wanted` bytes of an entry, inflating no more than that. A stored entry is returned as a view (no
 * copy). Throws ZipError when the entry is encrypted, uses another method, lies outside the archive, or holds
 * fewer than `wanted` bytes.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, wanted: number): Uint8Array {
  if (entry.encrypted) throw new ZipError(`entry ${entry.name} is encrypted`, 'unsupported');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const local = entry.localOffset;
  if (local < 0 || local + 30 > bytes.length || view.getUint32(local, true) !== LOCAL_HEADER) {
    throw new ZipError(`entry ${entry.name} points outside the archive`, 'damaged');
  }
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  if (start + entry.compressedSize > bytes.length) throw new ZipError(`entry ${entry.name} runs past the end of the archive (the file is cut short)`, 'damaged');
  const compressed = bytes.subarray(start, start + entry.compressedSize);

  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) throw new ZipError(`stored entry ${entry.name} declares ${entry.size} bytes but holds ${entry.compressedSize}`, 'damaged');
    if (compressed.length < wanted) throw new ZipError(`entry ${entry.name} holds ${compressed.length} bytes, ${wanted} needed`, 'short');
    return compressed.subarray(0, wanted);
  }
  if (entry.method !== 8) throw new ZipError(`entry ${entry.name} uses compression method ${entry.method}`, 'unsupported');

  const out = new Uint8Array(wanted);
  let filled = 0;
  const inflater = new Inflate((chunk) => {
    const take = Math.min(chunk.length, wanted - filled);
    out.set(chunk.subarray(0, take), filled);
    filled += take;
  });
  try {
    for (let offset = 0; offset < compressed.length && filled < wanted; offset += INFLATE_INPUT_CHUNK) {
      const end = Math.min(offset + INFLATE_INPUT_CHUNK, compressed.length);
      inflater.push(compressed.subarray(offset, end), end === compressed.length);
    }
  } catch (error) {
    throw new ZipError(`entry ${entry.name} does not inflate (${(error as Error).message})`, 'damaged');
  }
  if (filled < wanted) throw new ZipError(`entry ${entry.name} inflates to ${filled} bytes, ${wanted} needed`, 'short');
  return out;
}
