/**
 * Turns whatever the caller hands over (a path, file bytes, a Blob, samples) into the model's input: a
 * 16 kHz mono float32 waveform, the way upstream prepares it — decode (`torchaudio.load` scaling), mean over
 * channels in float32, resample with torchaudio's default sinc filter — plus a quality report.
 *
 * Memory: a mono input is never copied before resampling, and a multi-channel WAV is mixed while decoding, so
 * at most two float32 copies of the audio exist at once (the mono mix and its resampled version).
 */
import { AudioInputError, describeValue, isEmotion2VecError, quote, typeTag } from '../errors.js';
import { FileRefusal, getPlatform } from '../platform.js';
import { checkEqualLengths, decodeAudio, mixToMono } from './decode.js';
import { checkDuration, checkMaxDuration } from './duration-limit.js';
import { analyzeQuality, assertQuality, type QualityReport } from './quality.js';
import { resample } from './resample.js';
import { trimSilence as trimLeadingTrailingSilence } from './trim.js';
import type { DecodedAudio } from './types.js';
import { checkSampleRate } from './wav.js';
import { FRAME_WINDOW_SAMPLES, MODEL_SAMPLE_RATE } from './frame-geometry.js';

/**
 * Audio the library accepts:
 * - `string`: a file path (Node only);
 * - `Uint8Array` (Node `Buffer` included), `ArrayBuffer`, `Blob`/`File`: the bytes of an audio file
 *   (WAV, FLAC, MP3, Ogg Vorbis/Opus, M4A/AAC...; anything ffmpeg reads in Node);
 * - `Float32Array`: samples that are already 16 kHz mono, in [-1, 1];
 * - `{ channels, sampleRate }`: samples at any rate, one Float32Array per channel (e.g. from the Web Audio API).
 */
export type AudioInput = string | Uint8Array | ArrayBuffer | Blob | Float32Array | DecodedAudio;

/** Options of {@link prepareAudio}. */
export interface PrepareOptions {
  /**
   * Cut leading and trailing silence from the 16 kHz waveform (librosa's `effects.trim`, `top_db=20`). Default false.
   */
  readonly trimSilence?: boolean;
  /**
   * Refuse audio whose quality report has warnings (too quiet, too short, clipped...) with `AUDIO_QUALITY`. Default
   * false.
   */
  readonly strict?: boolean;
  /**
   * Longest audio accepted, in seconds: longer audio is refused with `AUDIO_TOO_LONG` before it is decoded (each
   * decoder reads the length from the header, or stops decoding at the bound), so a small file that expands to
   * hours costs nothing. Default: no bound. `emotion2vec serve` and the queue workers set one (`--max-duration`).
   */
  readonly maxDurationSeconds?: number;
}

/** The model's input, and what was learnt about the source. */
export interface PreparedAudio {
  /** 16 kHz mono samples (after trimming, when asked). */
  readonly waveform: Float32Array;
  readonly sampleRate: typeof MODEL_SAMPLE_RATE;
  /** Rate of the audio as decoded or given. */
  readonly sourceSampleRate: number;
  /** Channel count of the source. */
  readonly sourceChannels: number;
  /** 'wav', 'mp3', 'flac'... for files; 'pcm' for samples handed over directly. */
  readonly format: string;
  /** Length of the source audio (before trimming), in seconds. */
  readonly durationSeconds: number;
  /** Level, clipping and silence of the mono mix at the source rate. */
  readonly quality: QualityReport;
  /** With `trimSilence`: the kept range, in samples of the untrimmed 16 kHz waveform (end exclusive). */
  readonly trimmed?: { readonly start: number; readonly end: number };
}

const ACCEPTED =
  'Pass a file path (Node), the file bytes (Uint8Array, ArrayBuffer, Blob/File), a Float32Array of 16 kHz mono samples, or { channels: Float32Array[], sampleRate }.';

/**
 * Decodes, mixes to mono, checks and resamples audio to the model's 16 kHz.
 *
 * Order (upstream's): decode → float32 mean over channels → quality report on that mono mix at the source
 * rate → `strict` check → resample to 16 kHz → optional silence trim.
 *
 * @throws AudioInputError `AUDIO_INVALID_TYPE`, `AUDIO_FILE_NOT_FOUND`, `AUDIO_EMPTY`, `AUDIO_NOT_FINITE`,
 *   `AUDIO_SAMPLE_RATE`, `AUDIO_DECODE`, `AUDIO_UNSUPPORTED_FORMAT`, `AUDIO_TOO_LONG` over `maxDurationSeconds`, and
 *   `AUDIO_QUALITY` in strict mode.
 */
export async function prepareAudio(input: AudioInput, options: PrepareOptions = {}): Promise<PreparedAudio> {
  const source = await toMono(input, checkMaxDuration(options.maxDurationSeconds));
  const { mono, sampleRate } = source;

  const quality = analyzeQuality(mono, sampleRate);
  if (options.strict === true) assertQuality(quality);

  let waveform = resample(mono, sampleRate, MODEL_SAMPLE_RATE);
  let trimmed: PreparedAudio['trimmed'];
  if (options.trimSilence === true) {
    const result = trimLeadingTrailingSilence(waveform);
    waveform = result.waveform;
    trimmed = { start: result.start, end: result.end };
  }
  return {
    waveform,
    sampleRate: MODEL_SAMPLE_RATE,
    sourceSampleRate: sampleRate,
    sourceChannels: source.channels,
    format: source.format,
    durationSeconds: mono.length / sampleRate,
    quality,
    ...(trimmed ? { trimmed } : {}),
  };
}

interface MonoSource {
  mono: Float32Array;
  sampleRate: number;
  channels: number;
  format: string;
}

/** Validates the input and brings it to one float32 channel at its own rate. */
async function toMono(input: AudioInput, maxSeconds: number | undefined): Promise<MonoSource> {
  const tag = typeTag(input);
  if (typeof input === 'string') return fromBytes(await readPath(input), input, maxSeconds);
  if (tag === 'Float32Array') {
    const samples = input as Float32Array;
    checkSamples(samples, 'The Float32Array');
    checkDuration(samples.length, MODEL_SAMPLE_RATE, maxSeconds);
    return { mono: samples, sampleRate: MODEL_SAMPLE_RATE, channels: 1, format: 'pcm' };
  }
  if (tag === 'Uint8Array') return fromBytes(input as Uint8Array, undefined, maxSeconds);
  if (tag === 'ArrayBuffer' || tag === 'SharedArrayBuffer')
    return fromBytes(new Uint8Array(input as ArrayBuffer), undefined, maxSeconds);
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const name = (input as { name?: unknown }).name;
    const fileName = typeof name === 'string' && name.length > 0 ? name : undefined;
    let buffer: ArrayBuffer;
    try {
      buffer = await input.arrayBuffer();
    } catch (error) {
      throw new AudioInputError(
        'AUDIO_DECODE',
        `Could not read the ${fileName ? `file "${fileName}"` : 'Blob'}: ${(error as Error)?.message ?? String(error)}. Pick the file again.`,
        {
          cause: error,
        },
      );
    }
    return fromBytes(new Uint8Array(buffer), fileName, maxSeconds);
  }
  if (isChannelsObject(input)) {
    const source = fromChannels(input);
    checkDuration(source.mono.length, source.sampleRate, maxSeconds);
    return source;
  }
  throw invalidType(input);
}

async function fromBytes(
  bytes: Uint8Array,
  fileName: string | undefined,
  maxDurationSeconds: number | undefined,
): Promise<MonoSource> {
  const decoded = await decodeAudio(bytes, {
    mono: true,
    maxDurationSeconds,
    ...(fileName === undefined ? {} : { fileName }),
  });
  const mono = decoded.channels[0]!;
  checkFinite(mono, fileName ? `"${fileName}"` : `The ${decoded.format} audio`, -1, decoded.sampleRate);
  return { mono, sampleRate: decoded.sampleRate, channels: decoded.sourceChannels, format: decoded.format };
}

function fromChannels(input: DecodedAudio): MonoSource {
  const { channels, sampleRate } = input;
  if (channels.length === 0) {
    throw new AudioInputError(
      'AUDIO_EMPTY',
      '`channels` is an empty array: pass at least one Float32Array of samples.',
    );
  }
  channels.forEach((channel, c) => {
    if (typeTag(channel) !== 'Float32Array') {
      throw new AudioInputError(
        'AUDIO_INVALID_TYPE',
        `channels[${c}] is ${describeValue(channel)}, not a Float32Array. Convert it, for example with Float32Array.from(...) (samples in [-1, 1]).`,
        { details: { channel: c, given: describeValue(channel) } },
      );
    }
  });
  checkSampleRate(sampleRate, '`sampleRate` gives', 'Pass the real rate of your samples (for example 16000 or 44100).');
  checkEqualLengths(channels);
  channels.forEach((channel, c) =>
    checkSamples(channel, channels.length > 1 ? `Channel ${c}` : 'The audio', c, sampleRate),
  );
  return { mono: mixToMono(channels), sampleRate, channels: channels.length, format: input.format ?? 'pcm' };
}

function checkSamples(samples: Float32Array, what: string, channel = -1, sampleRate = MODEL_SAMPLE_RATE): void {
  if (samples.length === 0) {
    throw new AudioInputError(
      'AUDIO_EMPTY',
      `${what} is empty (no samples). Pass audio with at least one sample (the model itself needs ${FRAME_WINDOW_SAMPLES}, 25 ms at 16 kHz).`,
    );
  }
  checkFinite(samples, what, channel, sampleRate);
}

/** @throws AudioInputError `AUDIO_NOT_FINITE` naming the first NaN or infinite sample. */
function checkFinite(samples: Float32Array, what: string, channel: number, sampleRate: number): void {
  for (let i = 0; i < samples.length; i++) {
    const value = samples[i]!;
    // x - x is 0 for every finite x and NaN for NaN and ±Infinity: one comparison per sample.
    if (value - value !== 0) {
      throw new AudioInputError(
        'AUDIO_NOT_FINITE',
        `${what} contains ${String(value)} at sample ${i} (${(i / sampleRate).toFixed(3)} s): every sample must be a finite number in [-1, 1]. ` +
          'Find what produced it (a division by zero, an unfilled buffer...) or replace the bad samples before passing the audio.',
        { details: { index: i, value: String(value), ...(channel >= 0 ? { channel } : {}) } },
      );
    }
  }
}

async function readPath(path: string): Promise<Uint8Array> {
  if (path.length === 0)
    throw new AudioInputError('AUDIO_INVALID_TYPE', `The file path is an empty string. ${ACCEPTED}`);
  if (/^(https?|data|blob):/i.test(path)) {
    throw new AudioInputError(
      'AUDIO_INVALID_TYPE',
      `${quote(path, 80)} is a URL; URLs are not fetched. Download it yourself (e.g. \`new Uint8Array(await (await fetch(url)).arrayBuffer())\`) and pass the bytes.`,
    );
  }
  const platform = getPlatform();
  if (!platform.readFile) {
    throw new AudioInputError(
      'AUDIO_INVALID_TYPE',
      `A file path (${quote(path)}) was given, but the ${platform.name} platform cannot read files. In a browser pass a File/Blob or the bytes (ArrayBuffer/Uint8Array); in Node import the package's Node entry point.`,
      { details: { path, platform: platform.name } },
    );
  }
  try {
    return await platform.readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown })?.code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new AudioInputError(
        'AUDIO_FILE_NOT_FOUND',
        `Audio file not found: ${quote(path)}. Check the path (a relative path is resolved against the current working directory).`,
        {
          cause: error,
          details: { path },
        },
      );
    }
    if (code === 'EISDIR') {
      throw new AudioInputError(
        'AUDIO_INVALID_TYPE',
        `${quote(path)} is a directory, not an audio file. Pass the path of one file.`,
        { cause: error, details: { path } },
      );
    }
    if (error instanceof FileRefusal)
      throw new AudioInputError(error.code, error.message, { cause: error, details: error.details });
    if (isEmotion2VecError(error)) throw error;
    throw new AudioInputError(
      'AUDIO_DECODE',
      `Could not read the audio file ${quote(path)}: ${(error as Error)?.message ?? String(error)}. Check that it exists and is readable.`,
      {
        cause: error,
        details: { path, code },
      },
    );
  }
}

function isChannelsObject(input: unknown): input is DecodedAudio {
  return typeof input === 'object' && input !== null && Array.isArray((input as { channels?: unknown }).channels);
}

function invalidType(input: unknown): AudioInputError {
  const tag = typeTag(input);
  let fix = ACCEPTED;
  if (tag === 'Float64Array')
    fix =
      'Convert it with Float32Array.from(samples), then pass it (16 kHz mono) or { channels: [samples], sampleRate }.';
  else if (tag === 'Int16Array' || tag === 'Int32Array' || tag === 'Int8Array' || tag === 'Uint16Array') {
    fix =
      'Integer PCM must be scaled to float32 in [-1, 1] (divide 16-bit samples by 32768) and passed as { channels: [samples], sampleRate }; or pass the WAV file bytes.';
  } else if (tag === 'Uint8ClampedArray' || tag === 'DataView')
    fix = 'Pass the file bytes as a Uint8Array or ArrayBuffer.';
  else if (Array.isArray(input))
    fix =
      'Wrap the samples in a Float32Array: new Float32Array(samples) (16 kHz mono), or pass { channels: [new Float32Array(samples)], sampleRate }.';
  else if (typeof input === 'object' && input !== null && 'samples' in input)
    fix =
      'Pass { channels: [samples], sampleRate } with samples as a Float32Array, instead of { samples, sampleRate }.';
  else if (typeof input === 'object' && input !== null && 'channels' in input)
    fix = 'An audio object needs `channels` (an array of Float32Array) and `sampleRate` (Hz).';
  return new AudioInputError('AUDIO_INVALID_TYPE', `Unsupported audio input: got ${describeValue(input)}. ${fix}`, {
    details: { given: describeValue(input) },
  });
}
