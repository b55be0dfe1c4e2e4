/**
 * Builders for hostile files, generated in the test's temp folder (nothing big is committed): a zip writer
 * that can store pre-deflated (bomb) entries, a few pickle programs, and a safetensors writer with free offsets.
 */
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { CRC16, CRC8 } from '../../src/audio/flac-frames.js';

/** A zip entry: stored bytes, or raw deflate data with the sizes to declare. */
export type ZipInput =
  { name: string; data: Uint8Array } | { name: string; deflated: Uint8Array; declaredSize: number };

/**
 * Writes a zip archive (CRCs left 0: the checkpoint reader does not check them, and no tool here does). With
 * `zip64`, every size and offset goes into zip64 extra fields, as writers do for archives over 4 GiB.
 */
export function writeZip(entries: ZipInput[], zip64 = false): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name);
    const stored = 'data' in entry;
    const body = Buffer.from(stored ? entry.data : entry.deflated);
    const size = stored ? body.length : entry.declaredSize;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(stored ? 0 : 8, 10);
    header.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    header.writeUInt32LE(zip64 ? 0xffffffff : size, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    const extra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      extra.writeUInt16LE(0x0001, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(size), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
      header.writeUInt16LE(extra.length, 30);
    }
    parts.push(local, name, body);
    central.push(header, name, extra);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : directory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  if (!zip64) return new Uint8Array(Buffer.concat([...parts, directory, end]));
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeBigUInt64LE(BigInt(entries.length), 24);
  record.writeBigUInt64LE(BigInt(entries.length), 32);
  record.writeBigUInt64LE(BigInt(directory.length), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + directory.length), 8);
  locator.writeUInt32LE(1, 16);
  return new Uint8Array(Buffer.concat([...parts, directory, record, locator, end]));
}

/**
 * Raw deflate data that inflates to `mebibytes` MiB of zeros, built from one full-flushed 1 MiB block repeated
 * (about 1 KB each), so a 3 GiB bomb costs 3 MB and milliseconds to make.
 */
export function zeroBomb(mebibytes: number): Uint8Array {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { finishFlush: zlib.Z_FULL_FLUSH });
  const last = deflateRawSync(Buffer.alloc(0));
  return new Uint8Array(Buffer.concat([...Array.from({ length: mebibytes }, () => block), last]));
}

/** A tiny pickle assembler: enough opcodes for the hostile state dicts below. */
class Pickle {
  private readonly bytes: number[] = [0x80, 2];
  op(code: string): this {
    this.bytes.push(code.charCodeAt(0));
    return this;
  }
  string(text: string): this {
    const encoded = Buffer.from(text);
    this.op('X');
    this.int32(encoded.length);
    this.bytes.push(...encoded);
    return this;
  }
  int(value: number): this {
    this.op('J');
    return this.int32(value);
  }
  global(module: string, name: string): this {
    this.op('c');
    this.bytes.push(...Buffer.from(`${module}\n${name}\n`));
    return this;
  }
  put(index: number): this {
    this.bytes.push('q'.charCodeAt(0), index);
    return this;
  }
  get(index: number): this {
    this.bytes.push('h'.charCodeAt(0), index);
    return this;
  }
  tupleOfInts(values: number[]): this {
    this.op('(');
    for (const value of values) this.int(value);
    return this.op('t');
  }
  done(): Uint8Array {
    this.op('.');
    return new Uint8Array(this.bytes);
  }
  private int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    this.bytes.push(...b);
    return this;
  }
}

/** {'w': tensor of `shape`/`stride`/`offset` on a float storage of `numel`} as torch.save pickles it. */
export function tensorPickle(shape: number[], stride: number[], offset: number, numel: number): Uint8Array {
  const p = new Pickle().op('}').string('w');
  p.global('torch._utils', '_rebuild_tensor_v2').op('(');
  p.op('(').string('storage').global('torch', 'FloatStorage').string('0').string('cpu').int(numel).op('t').op('Q');
  p.int(offset).tupleOfInts(shape).tupleOfInts(stride).op('\x89');
  p.global('collections', 'OrderedDict').op(')').op('R');
  return p.op('t').op('R').op('s').done();
}

/** A dict whose one key is a tuple graph `depth` levels deep where each level holds the one below twice. */
export function sharedTupleKeyPickle(depth: number): Uint8Array {
  // PUT keeps the value on the stack: POP all but the last level so that SETITEM finds the dict below the key.
  const p = new Pickle().op('}').op(')').put(0).op('0');
  for (let level = 1; level <= depth; level++) {
    p.get(level - 1)
      .get(level - 1)
      .op('\x86')
      .put(level);
    if (level < depth) p.op('0');
  }
  return p.int(1).op('s').done();
}

/** A one-tensor torch checkpoint with the given pickle and a float32 storage '0' of `storage`. */
export function torchCheckpoint(pickle: Uint8Array, storage: Uint8Array): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
    { name: 'archive/data/0', data: storage },
  ]);
}

/** A safetensors entry with explicit dtype and offsets (so they can overlap or alias). */
export interface RawSafetensor {
  name: string;
  dtype: string;
  shape: number[];
  offsets: [number, number];
}

export function writeRawSafetensors(entries: RawSafetensor[], data: Uint8Array): Uint8Array {
  const header: Record<string, unknown> = {};
  for (const entry of entries)
    header[entry.name] = { dtype: entry.dtype, shape: entry.shape, data_offsets: entry.offsets };
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return new Uint8Array(Buffer.concat([length, json, data]));
}

/** A list nested `depth` levels deep: `depth` EMPTY_LISTs, then APPENDs folding each into the one below. */
export function nestedListPickle(depth: number): Uint8Array {
  const bytes = new Uint8Array(2 * depth + 2);
  bytes.set([0x80, 2]);
  bytes.fill(']'.charCodeAt(0), 2, 2 + depth);
  bytes.fill('a'.charCodeAt(0), 2 + depth, 2 * depth + 1);
  bytes[2 * depth + 1] = '.'.charCodeAt(0);
  return bytes;
}

/** FLAC's UTF-8-style coding of a frame number. */
function flacNumber(value: number): number[] {
  if (value < 0x80) return [value];
  if (value < 0x800) return [0xc0 | (value >> 6), 0x80 | (value & 0x3f)];
  if (value < 0x10000) return [0xe0 | (value >> 12), 0x80 | ((value >> 6) & 0x3f), 0x80 | (value & 0x3f)];
  return [0xf0 | (value >> 18), 0x80 | ((value >> 12) & 0x3f), 0x80 | ((value >> 6) & 0x3f), 0x80 | (value & 0x3f)];
}

/**
 * A FLAC stream of digital silence, mono 16-bit at `rate` Hz (8000, 16000, 44100 or 48000): each frame one
 * constant subframe of `blockSize` samples (about 14 bytes), so 40 hours at 8 kHz take about 270 KB. The frames
 * are valid (CRC-8 and CRC-16 right); STREAMINFO declares `declaredSamples` (default: the true count; 0 means
 * "unknown" in FLAC).
 */
export function silentFlac(seconds: number, rate = 8000, declaredSamples?: number, blockSize = 65535): Uint8Array {
  const total = Math.round(seconds * rate);
  const rateCode: Record<number, number> = { 8000: 4, 16000: 5, 44100: 9, 48000: 10 };
  const streamInfo = Buffer.alloc(34);
  streamInfo.writeUInt16BE(Math.min(blockSize, total), 0);
  streamInfo.writeUInt16BE(blockSize, 2);
  // 20-bit rate, 3-bit channels - 1 (0), 5-bit bits per sample - 1 (15), 36-bit total samples.
  const declared = declaredSamples ?? total;
  const packed = (BigInt(rate) << 44n) | (0n << 41n) | (15n << 36n) | BigInt(declared);
  streamInfo.writeBigUInt64BE(packed, 10);
  const parts: Buffer[] = [Buffer.from('fLaC'), Buffer.from([0x80, 0, 0, 34]), streamInfo];
  for (let frame = 0, done = 0; done < total; frame++) {
    const size = Math.min(blockSize, total - done);
    const header = [
      0xff,
      0xf8,
      (7 << 4) | rateCode[rate]!,
      0x08,
      ...flacNumber(frame),
      (size - 1) >> 8,
      (size - 1) & 0xff,
    ];
    let crc8 = 0;
    for (const byte of header) crc8 = CRC8[crc8 ^ byte]!;
    const body = [...header, crc8, 0x00, 0x00, 0x00]; // constant subframe (type 0), value 0
    let crc16 = 0;
    for (const byte of body) crc16 = ((crc16 << 8) & 0xffff) ^ CRC16[(crc16 >> 8) ^ byte]!;
    parts.push(Buffer.from([...body, crc16 >> 8, crc16 & 0xff]));
    done += size;
  }
  return new Uint8Array(Buffer.concat(parts));
}
