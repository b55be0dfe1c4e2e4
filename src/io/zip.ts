/**
 * Random access to the entries of a zip archive, in memory or read from a file by position (src/io/random-access.ts),
 * with a byte bound on every read: only the end records, the central directory and the entries asked for are read.
 *
 * Hand-written index, fflate for the inflating: fflate's `unzipSync` inflates an entry whole into a buffer of
 * the size the archive claims, so a 4 MB checkpoint whose storage entry claims (or truly inflates to) 3 GiB
 * costs 3 GiB. Reading the central directory ourselves gives each entry's compressed bytes, which we then
 * stream through fflate's `Inflate` and stop as soon as the bytes the caller needs are out.
 */
import { Inflate } from 'fflate';
import { memoryAccess, readRange, type RandomAccess } from './random-access.js';

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
export function readZipIndex(archive: Uint8Array | RandomAccess): Map<string, ZipEntry> {
  const source = archive instanceof Uint8Array ? memoryAccess(archive) : archive;
  // Only the tail (end records) and the central directory are read: never the entries' data.
  const tailStart = Math.max(0, source.size - 22 - 0xffff);
  const tail = readRange(source, tailStart, source.size - tailStart);
  const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocdInTail = -1;
  for (let at = tail.length - 22; at >= 0; at--) {
    if (tailView.getUint32(at, true) === EOCD) {
      eocdInTail = at;
      break;
    }
  }
  if (eocdInTail < 0) throw new ZipError('no end-of-central-directory record (the file is cut short)', 'damaged');
  const eocd = tailStart + eocdInTail;
  let count = tailView.getUint16(eocdInTail + 10, true);
  let directory = tailView.getUint32(eocdInTail + 16, true);
  let directoryEnd = eocd;
  if (eocdInTail >= 20 && tailView.getUint32(eocdInTail - 20, true) === ZIP64_LOCATOR) {
    const record = Number(tailView.getBigUint64(eocdInTail - 12, true));
    const recordBytes = record >= 0 && record + 56 <= source.size ? readRange(source, record, 56) : new Uint8Array(0);
    const recordView = new DataView(recordBytes.buffer, recordBytes.byteOffset, recordBytes.byteLength);
    if (recordBytes.length < 56 || recordView.getUint32(0, true) !== ZIP64_EOCD)
      throw new ZipError('its zip64 end record is out of bounds', 'damaged');
    count = Number(recordView.getBigUint64(32, true));
    directory = Number(recordView.getBigUint64(48, true));
    directoryEnd = Math.min(eocd, record);
  }
  if (count > MAX_ENTRIES)
    throw new ZipError(`it declares ${count} entries (at most ${MAX_ENTRIES} are read)`, 'damaged');
  if (directory > directoryEnd) throw new ZipError('its central directory starts past its end record', 'damaged');

  // Offsets below are relative to the directory's bytes; `inside` bounds every field read to them.
  const bytes = readRange(source, directory, directoryEnd - directory);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  const inside = (at: number, length: number) => at >= 0 && length >= 0 && at + length <= bytes.length;
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (!inside(at, 46) || u32(at) !== CENTRAL_HEADER)
      throw new ZipError(`central directory entry ${i + 1} is out of bounds or damaged`, 'damaged');
    const flags = u16(at + 8);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    if (!inside(at + 46, nameLength + extraLength + commentLength))
      throw new ZipError(`central directory entry ${i + 1} runs past the end`, 'damaged');
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // zip64: the 32-bit fields that read 0xFFFFFFFF are in the 0x0001 extra field, in this order.
    for (let extra = at + 46 + nameLength, end = extra + extraLength; extra + 4 <= end;) {
      const id = u16(extra);
      const length = u16(extra + 2);
      let field = extra + 4;
      if (id === 0x0001) {
        const next = (): number => {
          if (field + 8 > extra + 4 + length)
            throw new ZipError(`entry ${name.slice(0, 100)} has a short zip64 field`, 'damaged');
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

/** Where an entry's (compressed) data starts: after its local header, checked to lie inside the archive. */
function entryDataStart(source: RandomAccess, entry: ZipEntry): number {
  if (entry.encrypted) throw new ZipError(`entry ${entry.name} is encrypted`, 'unsupported');
  const local = entry.localOffset;
  const header = local >= 0 && local + 30 <= source.size ? readRange(source, local, 30) : new Uint8Array(0);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (header.length < 30 || view.getUint32(0, true) !== LOCAL_HEADER) {
    throw new ZipError(`entry ${entry.name} points outside the archive`, 'damaged');
  }
  const start = local + 30 + view.getUint16(26, true) + view.getUint16(28, true);
  if (start + entry.compressedSize > source.size)
    throw new ZipError(`entry ${entry.name} runs past the end of the archive (the file is cut short)`, 'damaged');
  if (entry.method === 0 && entry.compressedSize !== entry.size)
    throw new ZipError(
      `stored entry ${entry.name} declares ${entry.size} bytes but holds ${entry.compressedSize}`,
      'damaged',
    );
  return start;
}

/**
 * Copies bytes [from, from + target.length) of a stored (uncompressed) entry straight into `target`: from a
 * file, one read and no intermediate buffer. Returns false, reading nothing, when the entry is deflated (the
 * caller then goes through readZipEntry). Throws ZipError when the entry holds fewer bytes.
 */
export function readStoredEntryInto(
  archive: Uint8Array | RandomAccess,
  entry: ZipEntry,
  from: number,
  target: Uint8Array,
): boolean {
  const source = archive instanceof Uint8Array ? memoryAccess(archive) : archive;
  if (entry.method !== 0) return false;
  const start = entryDataStart(source, entry);
  if (from < 0 || from + target.length > entry.compressedSize)
    throw new ZipError(
      `entry ${entry.name} holds ${entry.compressedSize} bytes, ${from + target.length} needed`,
      'short',
    );
  if (source.readInto(start + from, target) !== target.length)
    throw new ZipError(`entry ${entry.name} is cut short (the file shrank while it was read)`, 'short');
  return true;
}

/**
 * The first `wanted` bytes of an entry, inflating no more than that. A stored entry in memory is returned as a
 * view (no copy). Throws ZipError when the entry is encrypted, uses another method, lies outside the archive,
 * or holds fewer than `wanted` bytes.
 */
export function readZipEntry(archive: Uint8Array | RandomAccess, entry: ZipEntry, wanted: number): Uint8Array {
  const source = archive instanceof Uint8Array ? memoryAccess(archive) : archive;
  const start = entryDataStart(source, entry);
  if (entry.method === 0) {
    if (entry.compressedSize < wanted)
      throw new ZipError(`entry ${entry.name} holds ${entry.compressedSize} bytes, ${wanted} needed`, 'short');
    const bytes = readRange(source, start, wanted);
    if (bytes.length < wanted)
      throw new ZipError(`entry ${entry.name} is cut short (the file shrank while it was read)`, 'short');
    return bytes;
  }
  if (entry.method !== 8)
    throw new ZipError(`entry ${entry.name} uses compression method ${entry.method}`, 'unsupported');
  const out = new Uint8Array(wanted);
  let filled = 0;
  const inflater = new Inflate((chunk) => {
    const take = Math.min(chunk.length, wanted - filled);
    out.set(chunk.subarray(0, take), filled);
    filled += take;
  });
  try {
    // The compressed bytes are read a chunk at a time too: a file source never holds the whole entry.
    for (let offset = 0; offset < entry.compressedSize && filled < wanted; offset += INFLATE_INPUT_CHUNK) {
      const end = Math.min(offset + INFLATE_INPUT_CHUNK, entry.compressedSize);
      const chunk = readRange(source, start + offset, end - offset);
      if (chunk.length < end - offset)
        throw new ZipError(`entry ${entry.name} is cut short (the file shrank while it was read)`, 'short');
      inflater.push(chunk, end === entry.compressedSize);
    }
  } catch (error) {
    if (error instanceof ZipError) throw error;
    throw new ZipError(`entry ${entry.name} does not inflate (${(error as Error).message})`, 'damaged');
  }
  if (filled < wanted) throw new ZipError(`entry ${entry.name} inflates to ${filled} bytes, ${wanted} needed`, 'short');
  return out;
}
