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
 */
import { AudioInputError } from '../errors.js';
import { flacFrames, FlacFramingError } from './flac-frames.js';
import { readWebmOpus, WebmError } from './webm.js';

/** What a codec produced, before the checks every decoder shares (decode.ts `finish`). */
export interface CodecOutput {
  readonly channels: Float32Array[];
  readonly sampleRate: number;
}

/** A bundled decoder: a file's bytes to its channels at its own rate. */
export type CodecDecoder = (bytes: Uint8Array) => Promise<CodecOutput>;

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

export async function decodeMp3(bytes: Uint8Array): Promise<CodecOutput> {
  const { MPEGDecoder } = await import('mpg123-decoder');
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const decoded = withoutConsole(() => decoder.decode(bytes));
    rejectReportedErrors('mpg123', decoded.errors);
    // libmpg123 always outputs two channels; a mono stream comes back as two equal ones.
    return {
      channels: collapseDuplicateStereo(trimTo(decoded.channelData, decoded.samplesDecoded)),
      sampleRate: decoded.sampleRate,
    };
  } finally {
    decoder.free();
  }
}

export async function decodeFlac(bytes: Uint8Array): Promise<CodecOutput> {
  const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
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

export async function decodeVorbis(bytes: Uint8Array): Promise<CodecOutput> {
  const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
  const decoder = new OggVorbisDecoder();
  await decoder.ready;
  try {
    const decoded = await withoutConsole(() => decoder.decodeFile(bytes));
    rejectReportedErrors('libvorbis', decoded.errors);
    return { channels: trimTo(decoded.channelData, decoded.samplesDecoded), sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}

export async function decodeOpus(bytes: Uint8Array): Promise<CodecOutput> {
  const decode = defaultExport<(src: Uint8Array) => Promise<LibraryAudio>>(await import('@audio/decode-opus'));
  return fromLibrary(await withoutConsole(() => decode(bytes)));
}

export async function decodeWebm(bytes: Uint8Array): Promise<CodecOutput> {
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
    const decoded = withoutConsole(() => decoder.decodeFrames(track.packets));
    rejectReportedErrors('libopus', decoded.errors);
    const samples = Math.max(
      0,
      decoded.samplesDecoded - Math.round((track.endPaddingSamples * decoded.sampleRate) / 48_000),
    );
    return { channels: trimTo(decoded.channelData, samples), sampleRate: decoded.sampleRate };
  } catch (error) {
    // libopus refuses a header it cannot use (RangeError: bad channel layout...): that is a damaged file.
    throw error instanceof CodecError ? error : new CodecError(error instanceof Error ? error.message : String(error));
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

export async function decodeMp4(bytes: Uint8Array): Promise<CodecOutput> {
  const decode = defaultExport<(src: Uint8Array) => Promise<LibraryAudio>>(await import('@audio/decode-aac'));
  let decoded: CodecOutput;
  try {
    decoded = fromLibrary(await withoutConsole(() => decode(bytes)));
  } catch (error) {
    // An MP4 whose audio is not AAC/ALAC (a video with Opus, AC-3...) is for the platform's decoder, not damaged.
    if (error instanceof Error && /no AAC\/ALAC audio track/i.test(error.message))
      throw new CodecUnsupported(error.message);
    throw error;
  }
  // FAAD2 upmixes mono AAC to two equal channels, as libmpg123 does.
  return { channels: collapseDuplicateStereo(decoded.channels), sampleRate: decoded.sampleRate };
}

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

function isNativeFlac(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x66 && bytes[1] === 0x4c && bytes[2] === 0x61 && bytes[3] === 0x43;
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
  // Native FLAC: "fLaC", a 4-byte block header, then STREAMINFO (rate at byte 18, channels and bits at 20-21, total at
  // 21-25).
  if (bytes.length < 26 || !isNativeFlac(bytes) || (bytes[4]! & 0x7f) !== 0) return;
  const declaredRate = (bytes[18]! << 12) | (bytes[19]! << 4) | (bytes[20]! >> 4);
  const declaredChannels = ((bytes[20]! >> 1) & 0x07) + 1;
  const declaredSamples =
    (bytes[21]! & 0x0f) * 2 ** 32 + ((bytes[22]! << 24) >>> 0) + (bytes[23]! << 16) + (bytes[24]! << 8) + bytes[25]!;
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
