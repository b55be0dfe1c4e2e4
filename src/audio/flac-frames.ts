/**
 * The structure of a native FLAC stream (`fLaC`, metadata blocks, frames), read by hand because the decoding
 * relies on it twice:
 *
 * - **Its length before decoding.** STREAMINFO states the sample count, but may say 0 ("unknown") or lie; libFLAC
 *   decodes a frame only after its header's CRC-8 checks, and a frame holds exactly its header's block size, so the
 *   sum of the block sizes over every header that checks bounds what decoding can produce (a stray match inside
 *   compressed data only adds to it). One pass over the bytes, no allocation.
 * - **Its frames, for libFLAC one by one.** Not taken from `codec-parser` (what `@wasm-audio-decoders/flac`'s
 *   `decodeFile` uses): at the end of a stream that parser can return the last two frames as one, and libFLAC then
 *   decodes only the first of them. ffmpeg's files end that way whenever their last blocks are short and silent (a
 *   constant subframe is a few bytes), so the last partial block went missing. A frame ends where the next one
 *   begins, which is where three things hold at once: the sync code (0xFFF8/9), a frame header whose CRC-8 is right,
 *   and a CRC-16 of every byte since the frame began that is zero (the frame's own CRC-16 footer makes it so). The
 *   last frame ends with the stream and must pass its CRC-16 too.
 */

/** What STREAMINFO says (rate in Hz, channels, samples per channel; 0 samples: not stated). */
export interface FlacStreamInfo {
  readonly sampleRate: number;
  readonly channels: number;
  readonly totalSamples: number;
}

/** Why a stream could not be cut into frames (the caller words it as a decode error). */
export class FlacFramingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlacFramingError';
  }
}

/** FLAC's CRC-8 (polynomial 0x07, frame headers) and CRC-16 (0x8005, whole frames), by byte. */
export const CRC8 = new Uint8Array(256);
export const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc8 = i;
  let crc16 = i << 8;
  for (let bit = 0; bit < 8; bit++) {
    crc8 = crc8 & 0x80 ? ((crc8 << 1) ^ 0x07) & 0xff : (crc8 << 1) & 0xff;
    crc16 = crc16 & 0x8000 ? ((crc16 << 1) ^ 0x8005) & 0xffff : (crc16 << 1) & 0xffff;
  }
  CRC8[i] = crc8;
  CRC16[i] = crc16;
}

/** The frames of a native FLAC stream (`fLaC`, metadata blocks, frames), in order, as views of `bytes`. */
export function flacFrames(bytes: Uint8Array): Uint8Array[] {
  let start = firstFrameOffset(bytes);
  if (start === bytes.length) return [];
  if (headerLength(bytes, start) === 0)
    throw new FlacFramingError(`no FLAC frame starts where the metadata ends (byte ${start})`);
  const frames: Uint8Array[] = [];
  let crc = 0;
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i]!;
    // A frame is at least a header (6 bytes), a subframe byte and the CRC-16: the next cannot start sooner.
    if (crc === 0 && byte === 0xff && i - start >= 9 && headerLength(bytes, i) > 0) {
      frames.push(bytes.subarray(start, i));
      start = i;
    }
    crc = ((crc << 8) & 0xffff) ^ CRC16[(crc >> 8) ^ byte]!;
  }
  if (crc !== 0)
    throw new FlacFramingError(`the frame at byte ${start} fails its CRC-16 check: the file is cut short or damaged`);
  frames.push(bytes.subarray(start));
  return frames;
}

/** True for a native FLAC stream (`fLaC` first). */
export function isNativeFlac(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x66 && bytes[1] === 0x4c && bytes[2] === 0x61 && bytes[3] === 0x43;
}

/** STREAMINFO of a native FLAC stream, or null when it does not start with one. */
export function flacStreamInfo(bytes: Uint8Array): FlacStreamInfo | null {
  // `fLaC`, a 4-byte block header (type 0), then STREAMINFO: rate, channels and bits at bytes 18-21, total at 21-25.
  if (bytes.length < 26 || !isNativeFlac(bytes) || (bytes[4]! & 0x7f) !== 0) return null;
  const sampleRate = (bytes[18]! << 12) | (bytes[19]! << 4) | (bytes[20]! >> 4);
  const channels = ((bytes[20]! >> 1) & 0x07) + 1;
  const totalSamples =
    (bytes[21]! & 0x0f) * 2 ** 32 + ((bytes[22]! << 24) >>> 0) + (bytes[23]! << 16) + (bytes[24]! << 8) + bytes[25]!;
  return { sampleRate, channels, totalSamples };
}

/**
 * The most samples per channel the frames of a native FLAC stream can decode to: the sum of the block sizes of
 * every valid frame header after the metadata blocks.
 */
export function flacFramesUpperBound(bytes: Uint8Array): number {
  let total = 0;
  let at: number;
  try {
    at = firstFrameOffset(bytes);
  } catch {
    return 0; // no frame can start inside the metadata: nothing decodes
  }
  while (at + 6 <= bytes.length) {
    const length = headerLength(bytes, at);
    if (length === 0) {
      at++;
      continue;
    }
    total += blockSize(bytes, at, length);
    at += length;
  }
  return total;
}

/** The block size a valid frame header at `at` (of `length` bytes, its CRC-8 last) declares. */
function blockSize(bytes: Uint8Array, at: number, length: number): number {
  const code = bytes[at + 2]! >> 4;
  const sampleRateCode = bytes[at + 2]! & 0x0f;
  // The block size's own bytes (codes 6 and 7) come before the sample rate's (codes 12-14) and the CRC-8.
  const rateBytes = sampleRateCode === 12 ? 1 : sampleRateCode === 13 || sampleRateCode === 14 ? 2 : 0;
  const sizeAt = at + length - 1 - rateBytes - (code === 6 ? 1 : code === 7 ? 2 : 0);
  if (code === 1) return 192;
  if (code <= 5) return 576 << (code - 2);
  if (code === 6) return bytes[sizeAt]! + 1;
  if (code === 7) return ((bytes[sizeAt]! << 8) | bytes[sizeAt + 1]!) + 1;
  return 256 << (code - 8);
}

/** Where the frames begin: after `fLaC` and every metadata block (the last one has its top bit set). */
function firstFrameOffset(bytes: Uint8Array): number {
  let offset = 4;
  for (;;) {
    if (offset + 4 > bytes.length) throw new FlacFramingError('it ends inside its metadata blocks');
    const last = (bytes[offset]! & 0x80) !== 0;
    offset += 4 + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
    if (offset > bytes.length) throw new FlacFramingError('a metadata block runs past the end of the file');
    if (last) return offset;
  }
}

/** The length of a valid frame header at `at` (sync code, fields, CRC-8 included), or 0 when there is none. */
function headerLength(bytes: Uint8Array, at: number): number {
  if (at + 6 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1]! & 0xfe) !== 0xf8) return 0;
  const blockSizeCode = bytes[at + 2]! >> 4;
  const sampleRateCode = bytes[at + 2]! & 0x0f;
  const channelCode = bytes[at + 3]! >> 4;
  const sampleSizeCode = (bytes[at + 3]! >> 1) & 0x07;
  // Reserved values: block size 0, sample rate 15, channel assignments 11-15, sample size 3, the reserved bit.
  if (blockSizeCode === 0 || sampleRateCode === 15 || channelCode > 10 || sampleSizeCode === 3) return 0;
  if ((bytes[at + 3]! & 0x01) !== 0) return 0;
  // The frame or sample number, UTF-8-style coded: its first byte says how many continuation bytes follow.
  const lead = bytes[at + 4]!;
  const continuation =
    lead < 0x80 ? 0 : lead < 0xc0 ? -1 : lead < 0xe0 ? 1 : lead < 0xf0 ? 2 : lead < 0xf8 ? 3 : lead < 0xfc ? 4 : 5;
  const extra = lead === 0xfe ? 6 : lead === 0xff ? -1 : continuation;
  if (extra < 0) return 0;
  let end = at + 5;
  for (let k = 0; k < extra; k++, end++) if (end >= bytes.length || (bytes[end]! & 0xc0) !== 0x80) return 0;
  end += blockSizeCode === 6 ? 1 : blockSizeCode === 7 ? 2 : 0;
  end += sampleRateCode === 12 ? 1 : sampleRateCode === 13 || sampleRateCode === 14 ? 2 : 0;
  if (end >= bytes.length) return 0;
  let crc = 0;
  for (let i = at; i < end; i++) crc = CRC8[crc ^ bytes[i]!]!;
  return crc === bytes[end] ? end + 1 - at : 0;
}
