/**
 * One decoder package per format that speech comes in, each loaded on first use with a dynamic import (so an
 * app that only sees WAV never loads a codec, and a bundler puts each codec in its own chunk when it splits):
 *
 * - MP3: `mpg123-decoder` (libmpg123 in WebAssembly)
 * - FLAC: `@wasm-audio-decoders/flac` (libFLAC)
 * - Ogg Vorbis: `@wasm-audio-decoders/ogg-vorbis` (libvorbis)
 * - Ogg Opus: `@audio/decode-opus` (libopus); WebM Opus (MediaRecorder's format): its packets (webm.ts) into the same
 * libopus
 * - M4A/MP4/AAC: `@audio/decode-aac` (FAAD2; ALAC in JS)
 * - WAV holding G.711 mu-law/A-law or ADPCM: `@audio/decode-wav` (PCM/float WAV is read by our own wav.ts)
 *
 * Which formats each decoder reads is said by the format table (formats.ts). A decoder that reports errors, or
 * whose output contradicts the container's header, fails: garbage that happens to start with a sync word must not
 * become "audio". Decoders never write to the console.
 *
 * With a `maxDurationSeconds` bound, no decoder makes more samples than the bound allows: the length comes from
 * the header where the format states it (FLAC's frame headers, MP4's sample table), and the others decode a
 * piece of the file at a time and stop once the bound is passed. Each piece is small enough that what it can
 * decode to stays bounded too (its worst case is noted at each size below).
 */
import { AudioInputError } from '../errors.js';
import {
  flacFrames,
  flacFramesUpperBound,
  FlacFramingError,
  flacStreamInfo,
  isNativeFlac,
  type FlacStreamInfo,
} from './flac-frames.js';
import { audioTooLong, maxFramesAt } from './duration-limit.js';
import { mp4SoundSeconds } from './mp4-duration.js';
import { readWebmOpus, WebmError } from './webm.js';

/** What a codec produced, before the checks every decoder shares (decode.ts `finish`). */
export interface CodecOutput {
  readonly channels: Float32Array[];
  readonly sampleRate: number;
}

/** What a bundled decoder may produce. */
export interface DecodeLimit {
  /** Stop with `AUDIO_TOO_LONG` before making more samples than this many seconds hold. */
  readonly maxDurationSeconds?: number;
}

/** A bundled decoder: a file's bytes to its channels at its own rate. */
export type CodecDecoder = (bytes: Uint8Array, limit?: DecodeLimit) => Promise<CodecOutput>;

/*
 * Bytes per decode call for the streamed formats, from the most samples one byte can decode to in each (per
 * channel): MP3 (the smallest frames hold 576 samples in 24 bytes) about 24, an Ogg page of 1-byte Vorbis or
 * Opus packets about 2,000 to 2,900, ADTS AAC (a 7-byte header and a byte of 1024 samples, twice that with SBR)
 * about 256. Each call so makes at most a few million samples per channel past the bound before it is noticed.
 */
const MP3_PIECE = 64 * 1024;
const OGG_PIECE = 2 * 1024;
const ADTS_PIECE = 8 * 1024;
/** WebM Opus packets per decode call: a packet holds at most 120 ms (5,760 samples at 48 kHz). */
const WEBM_PACKETS = 256;

/**
 * The error a codec's complaint becomes: `AUDIO_DECODE`, with the decoder's own words (capped) in the
 * details so that decode.ts can fold them into its message.
 */
export class CodecError extends Error {
  constructor(readonly reason: string) {
    super(reason.length > 300 ? `${reason.slice(0, 300)}...` : reason);
    this.name = 'CodecError';
  }
}

export async function decodeMp3(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  const { MPEGDecoder } = await import('mpg123-decoder');
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const decoded = await decodeInPieces(bytes, MP3_PIECE, limit, 'mpg123', (piece) =>
      withoutConsole(() => decoder.decode(piece)),
    );
    // libmpg123 always outputs two channels; a mono stream comes back as two equal ones.
    return { channels: collapseDuplicateStereo(decoded.channels), sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}

export async function decodeFlac(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
  const info = flacStreamInfo(bytes);
  if (info === null || info.sampleRate === 0) return decodeOggInPieces(bytes, limit, 'libFLAC', new FLACDecoder());
  checkFlacLength(bytes, info, limit);
  const decoder = new FLACDecoder();
  await decoder.ready;
  try {
    // Native FLAC is cut into frames here (flac-frames.ts says why); Ogg FLAC's pages delimit its frames already.
    // The decode runs synchronously inside the call (only its reset awaits), so the console is restored before any
    // other code runs.
    const frames = isNativeFlac(bytes) ? nativeFlacFrames(bytes) : null;
    const decoded = await withoutConsole(() => (frames ? decoder.decodeFrames(frames) : decoder.decodeFile(bytes)));
    rejectReportedErrors('libFLAC', decoded.errors);
    const channels = trimTo(decoded.channelData, decoded.samplesDecoded);
    checkFlacStreamInfo(bytes, channels, decoded.sampleRate);
    return { channels, sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}

/**
 * Native FLAC states its length twice before a sample is decoded: STREAMINFO, and the block sizes of its frame
 * headers (flac-frames.ts), which bound what libFLAC can make even when STREAMINFO says 0 or lies.
 */
function checkFlacLength(bytes: Uint8Array, info: FlacStreamInfo, limit: DecodeLimit): void {
  const max = limit.maxDurationSeconds;
  if (max === undefined) return;
  const frames = Math.max(info.totalSamples, flacFramesUpperBound(bytes));
  if (frames > maxFramesAt(info.sampleRate, max)) throw audioTooLong(frames / info.sampleRate, max);
}

/** A wasm-audio-decoders decoder (libFLAC's, libvorbis'): decoded pieces in, then what it still holds. */
interface PieceDecoder {
  readonly ready: Promise<void>;
  decode(piece: Uint8Array): Promise<DecodedPiece>;
  flush(): Promise<DecodedPiece>;
  free(): void;
}

/** Ogg pages (Vorbis, Ogg FLAC) or a FLAC stream without a usable STREAMINFO, a piece at a time; frees `decoder`. */
async function decodeOggInPieces(
  bytes: Uint8Array,
  limit: DecodeLimit,
  decoderName: string,
  decoder: PieceDecoder,
): Promise<CodecOutput> {
  await decoder.ready;
  try {
    return await decodeInPieces(
      bytes,
      OGG_PIECE,
      limit,
      decoderName,
      (piece) => withoutConsole(() => decoder.decode(piece)),
      () => withoutConsole(() => decoder.flush()),
    );
  } finally {
    decoder.free();
  }
}

export async function decodeVorbis(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
  return decodeOggInPieces(bytes, limit, 'libvorbis', new OggVorbisDecoder());
}

export async function decodeOpus(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  const { decoder: openDecoder } = (await import('@audio/decode-opus')) as {
    decoder: () => Promise<{ decode(data: Uint8Array): LibraryAudio; flush(): LibraryAudio; free(): void }>;
  };
  const decoder = await openDecoder();
  try {
    return await decodeInPieces(
      bytes,
      OGG_PIECE,
      limit,
      'libopus',
      (piece) => libraryPiece(withoutConsole(() => decoder.decode(piece))),
      () => libraryPiece(withoutConsole(() => decoder.flush())),
    );
  } finally {
    decoder.free();
  }
}

export async function decodeWebm(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  let track: ReturnType<typeof readWebmOpus>;
  try {
    track = readWebmOpus(bytes);
  } catch (error) {
    if (error instanceof WebmError)
      throw error.kind === 'unsupported' ? new CodecUnsupported(error.message) : new CodecError(error.message);
    throw error;
  }
  const { createOpusDecoder } = await import('@audio/decode-opus/core');
  const decoder = await createOpusDecoder();
  try {
    decoder.configure(opusHeadOptions(track.opusHead));
    const groups: Uint8Array[][] = [];
    for (let at = 0; at < track.packets.length; at += WEBM_PACKETS)
      groups.push(track.packets.slice(at, at + WEBM_PACKETS));
    const decoded = await decodePieces(groups, limit, 'libopus', (packets) =>
      withoutConsole(() => decoder.decodeFrames(packets)),
    );
    const samples = Math.max(
      0,
      (decoded.channels[0]?.length ?? 0) - Math.round((track.endPaddingSamples * decoded.sampleRate) / 48_000),
    );
    return { channels: trimTo(decoded.channels, samples), sampleRate: decoded.sampleRate };
  } catch (error) {
    // libopus refuses a header it cannot use (RangeError: bad channel layout...): that is a damaged file.
    if (error instanceof CodecError || error instanceof AudioInputError) throw error;
    throw new CodecError(error instanceof Error ? error.message : String(error));
  } finally {
    decoder.free();
  }
}

/** The decoder settings an OpusHead (RFC 7845 §5.1) gives: channels, pre-skip, gain and the channel mapping. */
function opusHeadOptions(head: Uint8Array): {
  channels: number;
  preSkip: number;
  outputGain: number;
  streamCount?: number;
  coupledStreamCount?: number;
  channelMappingTable?: number[];
} {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const channels = head[9]!;
  const options = { channels, preSkip: view.getUint16(10, true), outputGain: view.getInt16(16, true) };
  if (head[18] === 0) return options;
  if (head.length < 21 + channels) throw new CodecError('its OpusHead is shorter than its channel mapping');
  return {
    ...options,
    streamCount: head[19]!,
    coupledStreamCount: head[20]!,
    channelMappingTable: Array.from(head.subarray(21, 21 + channels)),
  };
}

export async function decodeMp4(bytes: Uint8Array, limit: DecodeLimit = {}): Promise<CodecOutput> {
  const aac = (await import('@audio/decode-aac')) as {
    decoder: () => Promise<{ decode(data: Uint8Array): LibraryAudio; flush(): LibraryAudio; free(): void }>;
  };
  const decode = defaultExport<(src: Uint8Array) => Promise<LibraryAudio>>(aac);
  let decoded: CodecOutput;
  try {
    if (isAdts(bytes)) decoded = await decodeAdts(bytes, limit, await aac.decoder());
    else {
      const max = limit.maxDurationSeconds;
      const seconds = max === undefined ? null : mp4SoundSeconds(bytes);
      if (max !== undefined && seconds !== null && seconds > max) throw audioTooLong(seconds, max);
      decoded = fromLibrary(await withoutConsole(() => decode(bytes)));
    }
  } catch (error) {
    // An MP4 whose audio is not AAC/ALAC (a video with Opus, AC-3...) is for the platform's decoder, not damaged.
    if (error instanceof Error && /no AAC\/ALAC audio track/i.test(error.message))
      throw new CodecUnsupported(error.message);
    throw error;
  }
  // FAAD2 upmixes mono AAC to two equal channels, as libmpg123 does.
  return { channels: collapseDuplicateStereo(decoded.channels), sampleRate: decoded.sampleRate };
}

/** Raw AAC in ADTS frames (no container): decoded a piece at a time. */
async function decodeAdts(
  bytes: Uint8Array,
  limit: DecodeLimit,
  decoder: { decode(data: Uint8Array): LibraryAudio; flush(): LibraryAudio; free(): void },
): Promise<CodecOutput> {
  try {
    return await decodeInPieces(
      bytes,
      ADTS_PIECE,
      limit,
      'FAAD2',
      (piece) => libraryPiece(withoutConsole(() => decoder.decode(piece))),
      () => libraryPiece(withoutConsole(() => decoder.flush())),
    );
  } finally {
    decoder.free();
  }
}

function isAdts(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xf6) === 0xf0;
}

/**
 * WAV holding G.711 or ADPCM: the output is bounded by the file's bytes (at most 2 samples a byte, for 4-bit
 * ADPCM), and decode.ts checks the header's rate against the bound before this runs.
 */
export async function decodeWavCodec(bytes: Uint8Array): Promise<CodecOutput> {
  const decode = defaultExport<(src: Uint8Array) => LibraryAudio>(await import('@audio/decode-wav'));
  return fromLibrary(decode(bytes));
}

interface LibraryAudio {
  readonly channelData: Float32Array[];
  readonly sampleRate: number;
}

function fromLibrary(decoded: LibraryAudio): CodecOutput {
  return { channels: decoded.channelData, sampleRate: decoded.sampleRate };
}

/** What one decode call of a streaming decoder returns. */
interface DecodedPiece {
  readonly channelData: Float32Array[];
  readonly samplesDecoded: number;
  readonly sampleRate: number;
  readonly errors?: readonly ReportedError[];
}

/**
 * A piece from the @audio decoders, which leave out `samplesDecoded` and report errors only as a count (a piece
 * boundary inside a frame counts as one), so their errors are not checked here, as for a whole-file decode.
 */
function libraryPiece(decoded: LibraryAudio & { samplesDecoded?: number }): DecodedPiece {
  const samples = decoded.samplesDecoded ?? decoded.channelData[0]?.length ?? 0;
  return { channelData: decoded.channelData, samplesDecoded: samples, sampleRate: decoded.sampleRate };
}

/**
 * Feeds a streaming decoder `pieceBytes` of the file at a time (then `flush`), keeping its output until the
 * bound is passed: then it stops with `AUDIO_TOO_LONG`. A reported error stops it at once.
 */
function decodeInPieces(
  bytes: Uint8Array,
  pieceBytes: number,
  limit: DecodeLimit,
  decoderName: string,
  decode: (piece: Uint8Array) => DecodedPiece | Promise<DecodedPiece>,
  flush?: () => DecodedPiece | Promise<DecodedPiece>,
): Promise<CodecOutput> {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += pieceBytes) pieces.push(bytes.subarray(at, at + pieceBytes));
  return decodePieces(pieces, limit, decoderName, decode, flush);
}

/** Decodes input pieces in order into one output, checking the bound after each (see decodeInPieces). */
async function decodePieces<T>(
  inputs: readonly T[],
  limit: DecodeLimit,
  decoderName: string,
  decode: (input: T) => DecodedPiece | Promise<DecodedPiece>,
  flush?: () => DecodedPiece | Promise<DecodedPiece>,
): Promise<CodecOutput> {
  const outputs: Float32Array[][] = [];
  let frames = 0;
  let sampleRate = 0;
  const keep = (piece: DecodedPiece): void => {
    rejectReportedErrors(decoderName, piece.errors);
    if (piece.samplesDecoded === 0 || piece.channelData.length === 0) return;
    sampleRate ||= piece.sampleRate;
    outputs.push(trimTo(piece.channelData, piece.samplesDecoded));
    frames += piece.samplesDecoded;
    const max = limit.maxDurationSeconds;
    if (max !== undefined && sampleRate > 0 && frames > maxFramesAt(sampleRate, max))
      throw audioTooLong(frames / sampleRate, max, { atLeast: true });
  };
  for (const input of inputs) keep(await decode(input));
  if (flush) keep(await flush());
  return { channels: joinPieces(outputs), sampleRate };
}

/** The pieces' channels end to end (a stream keeps its channel count; a piece that differs is damage). */
function joinPieces(outputs: readonly Float32Array[][]): Float32Array[] {
  if (outputs.length === 1) return outputs[0]!;
  const count = outputs[0]?.length ?? 0;
  if (outputs.some((channels) => channels.length !== count))
    throw new CodecError('its channel count changes part-way through');
  return Array.from({ length: count }, (_, c) => {
    const joined = new Float32Array(outputs.reduce((sum, channels) => sum + channels[c]!.length, 0));
    let at = 0;
    for (const channels of outputs) {
      joined.set(channels[c]!, at);
      at += channels[c]!.length;
    }
    return joined;
  });
}

/**
 * A module's default export, whichever way it was loaded: native `import()` gives the function itself, while
 * a CommonJS build that turned `import()` into `require()` may wrap the module once more (`{ default: { default } }`).
 */
function defaultExport<T>(module: unknown): T {
  let value = (module as { default?: unknown }).default ?? module;
  if (typeof value !== 'function' && value !== null && typeof value === 'object' && 'default' in value)
    value = (value as { default: unknown }).default;
  if (typeof value !== 'function')
    throw new CodecError('the decoder package did not export a function (a bundler or CommonJS interop problem)');
  return value as T;
}

/**
 * A file of a format we read, holding what no bundled decoder reads (WebM with Vorbis or AAC...): it goes to the
 * platform's fallback.
 */
export class CodecUnsupported extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'CodecUnsupported';
  }
}

interface ReportedError {
  readonly message: string;
  readonly frameNumber?: number;
}

function rejectReportedErrors(decoder: string, errors: readonly ReportedError[] | undefined): void {
  if (!errors || errors.length === 0) return;
  const first = errors[0]!;
  const where = typeof first.frameNumber === 'number' ? ` at frame ${first.frameNumber}` : '';
  throw new CodecError(
    `${decoder} reported ${errors.length} error${errors.length === 1 ? '' : 's'}${where}: ${first.message}`,
  );
}

function trimTo(channels: Float32Array[], samples: number): Float32Array[] {
  return channels.map((channel) => (channel.length > samples ? channel.subarray(0, samples) : channel));
}

/**
 * Two channels with every sample equal are one channel: the mono stream a decoder upmixed. Their mean is the
 * same samples either way; only the reported source channel count changes.
 */
function collapseDuplicateStereo(channels: Float32Array[]): Float32Array[] {
  if (channels.length !== 2) return channels;
  const [left, right] = channels as [Float32Array, Float32Array];
  if (left.length !== right.length) return channels;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return channels;
  return [left];
}

function nativeFlacFrames(bytes: Uint8Array): Uint8Array[] {
  try {
    return flacFrames(bytes);
  } catch (error) {
    if (error instanceof FlacFramingError) throw new CodecError(error.message);
    throw error;
  }
}

/**
 * FLAC's STREAMINFO states the rate, the channel count and (when non-zero) the number of samples; a stream
 * that decodes to anything else is damaged or is not what its header says.
 */
function checkFlacStreamInfo(bytes: Uint8Array, channels: readonly Float32Array[], sampleRate: number): void {
  const info = flacStreamInfo(bytes);
  if (info === null) return;
  const { sampleRate: declaredRate, channels: declaredChannels, totalSamples: declaredSamples } = info;
  const frames = channels[0]?.length ?? 0;
  const problems: string[] = [];
  if (declaredRate !== sampleRate)
    problems.push(`its header says ${declaredRate} Hz but it decodes at ${sampleRate} Hz`);
  if (declaredChannels !== channels.length)
    problems.push(`its header says ${declaredChannels} channel(s) but ${channels.length} decoded`);
  if (declaredSamples !== 0 && declaredSamples !== frames)
    problems.push(`its header says ${declaredSamples} samples per channel but ${frames} decoded`);
  if (problems.length > 0) throw new CodecError(problems.join('; '));
}

/**
 * Runs `work` with console.log/info/warn/error muted. libmpg123's and libFLAC's wrappers print every stream
 * error with console.error and have no option to stop it; their errors are also returned (and turned into
 * typed errors above), so nothing is lost. Only the synchronous span of the call is muted: the decoders do
 * their work synchronously inside it, and the console is restored before any other code can run.
 */
function withoutConsole<T>(work: () => T): T {
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error };
  const mute = (): void => {};
  Object.assign(console, { log: mute, info: mute, warn: mute, error: mute });
  try {
    return work();
  } finally {
    Object.assign(console, saved);
  }
}

/** Turns a codec failure into the typed error decode.ts reports (kept here so that codecs stay one module). */
export function codecFailure(error: unknown): string {
  if (error instanceof CodecError) return error.message;
  if (error instanceof AudioInputError) return error.message;
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 300 ? `${message.slice(0, 300)}...` : message;
}
