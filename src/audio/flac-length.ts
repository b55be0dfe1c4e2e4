/**
 * How long a native FLAC stream decodes to, known before decoding: STREAMINFO's sample count, and (since a header
 * may say 0, "unknown", or lie) the sum of the block sizes that the stream's frame headers declare. libFLAC
 * decodes a frame only after its header's CRC-8 checks, and a frame holds exactly its header's block size, so the
 * sum over every header that checks is an upper bound on what decoding can produce (a stray match inside
 * compressed data only adds to it). One pass over the bytes, no allocation.
 */

/** What STREAMINFO says (rate in Hz, samples per channel; 0 samples: not stated). */
export interface FlacStreamInfo {
  readonly sampleRate: number;
  readonly totalSamples: number;
}

const CRC8 = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
  CRC8[i] = crc;
}

/** True for a native FLAC stream ("fLaC" first). */
export function isNativeFlac(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x66 && bytes[1] === 0x4c && bytes[2] === 0x61 && bytes[3] === 0x43;
}

/** STREAMINFO of a native FLAC stream, or null when it does not start with one. */
export function flacStreamInfo(bytes: Uint8Array): FlacStreamInfo | null {
  // "fLaC", a 4-byte block header (type 0), then STREAMINFO: rate at byte 18, total samples in bytes 21-25.
  if (bytes.length < 26 || !isNativeFlac(bytes) || (bytes[4]! & 0x7f) !== 0) return null;
  const sampleRate = (bytes[18]! << 12) | (bytes[19]! << 4) | (bytes[20]! >> 4);
  const totalSamples =
    (bytes[21]! & 0x0f) * 2 ** 32 + ((bytes[22]! << 24) >>> 0) + (bytes[23]! << 16) + (bytes[24]! << 8) + bytes[25]!;
  return { sampleRate, totalSamples };
}

/**
 * The most samples per channel the frames of a native FLAC stream can decode to: the sum of the block sizes of
 * every frame header (sync code, fields, CRC-8) after the metadata blocks.
 */
export function flacFramesUpperBound(bytes: Uint8Array): number {
  let total = 0;
  for (let at = metadataEnd(bytes); at + 6 <= bytes.length;) {
    if (bytes[at] !== 0xff || (bytes[at + 1]! & 0xfe) !== 0xf8) {
      at++;
      continue;
    }
    const header = frameHeader(bytes, at);
    if (header === null) {
      at++;
      continue;
    }
    total += header.blockSize;
    at += header.length;
  }
  return total;
}

/** Where the frames begin: after "fLaC" and every metadata block (the last one has its top bit set). */
function metadataEnd(bytes: Uint8Array): number {
  let offset = 4;
  while (offset + 4 <= bytes.length) {
    const last = (bytes[offset]! & 0x80) !== 0;
    offset += 4 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
    if (last) return offset;
  }
  return bytes.length;
}

/** The block size and length of a frame header at `at` whose CRC-8 checks, or null. */
function frameHeader(bytes: Uint8Array, at: number): { blockSize: number; length: number } | null {
  const blockSizeCode = bytes[at + 2]! >> 4;
  const sampleRateCode = bytes[at + 2]! & 0x0f;
  if (blockSizeCode === 0) return null;
  // The frame or sample number, UTF-8-style coded: its first byte says how many continuation bytes follow.
  const lead = bytes[at + 4]!;
  const extra = lead < 0x80 ? 0 : lead < 0xc0 ? -1 : lead < 0xe0 ? 1 : lead < 0xf0 ? 2 : lead < 0xf8 ? 3 : 4;
  const numberBytes = lead === 0xfe ? 6 : lead >= 0xfc ? (lead === 0xff ? -1 : 5) : extra;
  if (numberBytes < 0) return null;
  let end = at + 5 + numberBytes;
  const sizeAt = end;
  end += blockSizeCode === 6 ? 1 : blockSizeCode === 7 ? 2 : 0;
  end += sampleRateCode === 12 ? 1 : sampleRateCode === 13 || sampleRateCode === 14 ? 2 : 0;
  if (end >= bytes.length) return null;
  let crc = 0;
  for (let i = at; i < end; i++) crc = CRC8[crc ^ bytes[i]!]!;
  if (crc !== bytes[end]) return null;
  let blockSize: number;
  if (blockSizeCode === 1) blockSize = 192;
  else if (blockSizeCode <= 5) blockSize = 576 << (blockSizeCode - 2);
  else if (blockSizeCode === 6) blockSize = bytes[sizeAt]! + 1;
  else if (blockSizeCode === 7) blockSize = ((bytes[sizeAt]! << 8) | bytes[sizeAt + 1]!) + 1;
  else blockSize = 256 << (blockSizeCode - 8);
  return { blockSize, length: end + 1 - at };
}
