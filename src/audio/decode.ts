/**
 * Audio file bytes to float32 channels, whatever the container: WAV through our exact reader (wav.ts),
 * the formats speech comes in through one WebAssembly decoder each (codecs.ts: same code in Node and
 * browsers, loaded on first use), and anything else through the installed fallback decoder (ffmpeg in Node).
 * Every failure becomes an AudioInputError that names the file, the format and the fix; library errors never
 * escape raw.
 */
import { AudioInputError, isEmotion2VecError } from '../errors.js';
import { hexHead, sniffNonAudio, type SniffedFormat } from '../io/sniff.js';
import { getPlatform } from '../platform.js';
import { CodecUnsupported, codecFailure } from './codecs.js';
import { audioTooLong, checkDuration, checkMaxDuration } from './duration-limit.js';
import { getFallbackDecoder, type FallbackHint } from './fallback-decoder.js';
import { audioFormatOf, sniffedAs, type AudioFormat } from './formats.js';
import type { DecodedAudio } from './types.js';
import { checkSampleRate, decodeWav } from './wav.js';

/** Hints for {@link decodeAudio}. */
export interface DecodeHint {
  /** Name of the file the bytes came from: used in messages, and to explain a misleading extension. */
  readonly fileName?: string;
  /** Return only the float32 mean of the channels (computed while decoding WAV, so it costs one copy). */
  readonly mono?: boolean;
  /**
   * Refuse audio longer than this (`AUDIO_TOO_LONG`), before its samples are made: every decoder learns the length
   * from the header or stops decoding at the bound. Default: no bound.
   */
  readonly maxDurationSeconds?: number;
}

/** Decoded audio plus what was learnt on the way. */
export interface DecodedAudioResult extends DecodedAudio {
  /** The detected format ('wav', 'mp3', 'flac', 'vorbis', 'opus', 'm4a', 'au'...). */
  readonly format: string;
  /** Channel count of the source, also when `channels` holds only the mono mix. */
  readonly sourceChannels: number;
  /** Which decoder produced the samples. */
  readonly decoder: 'wav' | 'bundled' | 'fallback';
}

const CONVERT_HINT = 'Convert it to WAV (for example `ffmpeg -i input output.wav`)';

/**
 * Decodes an audio file to float32 samples at the file's own rate.
 *
 * WAV is read by {@link decodeWav} (exact torchaudio scaling); MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC and
 * mu-law/A-law WAV by the bundled decoders (codecs.ts); what they do not read goes to the installed
 * fallback decoder (fallback-decoder.ts: ffmpeg in Node, `decodeAudioData` in browsers) when there is one. A file that
 * a
 * bundled decoder reads but reports errors in (or that contradicts its own header) is `AUDIO_DECODE`: it is
 * not handed to a more lenient decoder that would turn the garbage into noise.
 *
 * @throws AudioInputError `AUDIO_EMPTY` (no bytes, or no samples), `AUDIO_UNSUPPORTED_FORMAT` (not audio, or
 *   no decoder for it here), `AUDIO_DECODE` (recognised but damaged), `AUDIO_SAMPLE_RATE`, `AUDIO_TOO_LONG` (over
 *   `maxDurationSeconds`).
 */
export async function decodeAudio(bytes: Uint8Array, hint: DecodeHint = {}): Promise<DecodedAudioResult> {
  const name = hint.fileName ? `"${hint.fileName}"` : 'this audio';
  const mono = hint.mono === true;
  const maxDurationSeconds = checkMaxDuration(hint.maxDurationSeconds);
  const { audioFormat, sniffed } = sniffAudio(bytes, hint.fileName);

  let firstError: AudioInputError | null = null;
  if (sniffed.format === 'wav') {
    try {
      const wav = decodeWav(bytes, { mono, maxDurationSeconds });
      return {
        channels: wav.channels,
        sampleRate: wav.sampleRate,
        format: 'wav',
        sourceChannels: wav.sourceChannels,
        decoder: 'wav',
      };
    } catch (error) {
      // A WAV holding another codec (mu-law, ADPCM, MP3...) may still be readable below; a damaged one, or PCM
      // of a width the header cannot mean (7-bit...), is not: another reader would guess and return noise.
      if (
        !(isEmotion2VecError(error) && error.code === 'AUDIO_UNSUPPORTED_FORMAT') ||
        error.details?.bitsPerSample !== undefined
      )
        throw withFileName(error, hint.fileName);
      firstError = error as AudioInputError;
    }
  }

  const codec = audioFormat?.decoder;
  let libraryProblem = 'no bundled decoder reads this format';
  if (codec) {
    let problem: string;
    let unsupported = false;
    try {
      if (firstError) checkCodedWavLength(bytes.length, firstError, maxDurationSeconds);
      const decoded = await codec(bytes, { maxDurationSeconds });
      if (decoded.channels.length > 0 && (decoded.channels[0]?.length ?? 0) > 0) {
        if (sniffed.format === 'flac') rescaleFlac(decoded.channels, bytes);
        return finish(decoded.channels, decoded.sampleRate, sniffed.format, 'bundled', mono, name, maxDurationSeconds);
      }
      problem = 'the bundled decoder found no audio in it';
    } catch (error) {
      if (isEmotion2VecError(error)) throw withFileName(error, hint.fileName);
      unsupported = error instanceof CodecUnsupported;
      problem = unsupported
        ? `no bundled decoder reads it (${codecFailure(error)})`
        : `the bundled decoder failed (${codecFailure(error)})`;
    }
    // A format our decoder reads but finds broken is final: a more lenient decoder would turn garbage into noise.
    if (unsupported) libraryProblem = problem;
    else if (!firstError) {
      throw new AudioInputError(
        'AUDIO_DECODE',
        `Cannot decode ${name} (${sniffed.label}): ${problem}. The file may be truncated or damaged (or not ${sniffed.label} at all): re-export or re-download it, or ${lowerFirst(CONVERT_HINT)}.`,
        { details: { fileName: hint.fileName, format: sniffed.format, reason: problem } },
      );
    }
    // A WAV whose codec @audio/decode-wav does not read either (MP3 in WAV...) still goes to the fallback.
  }
  if (firstError && codec) {
    const wavCodec = firstError.details?.codec;
    libraryProblem =
      typeof wavCodec === 'string'
        ? `no bundled decoder reads its ${wavCodec} samples`
        : 'no bundled decoder reads its sample format';
  }

  // The runtime's fallback decoder (ffmpeg in Node).
  const fallback = getFallbackDecoder();
  let fallbackProblem: string | null = null;
  if (fallback) {
    const declaredRate = firstError?.details?.sampleRate;
    const fallbackHint: FallbackHint = {
      fileName: hint.fileName,
      format: sniffed.format === 'unknown' ? undefined : sniffed.format,
      mono,
      sampleRate: typeof declaredRate === 'number' && declaredRate > 0 ? declaredRate : undefined,
      maxDurationSeconds,
    };
    try {
      const decoded = await fallback(bytes, fallbackHint);
      if (decoded) {
        const sourceChannels = decoded.sourceChannels ?? decoded.channels.length;
        const result = finish(
          decoded.channels,
          decoded.sampleRate,
          sniffed.format === 'unknown' ? (decoded.format ?? 'unknown') : sniffed.format,
          'fallback',
          mono,
          name,
          maxDurationSeconds,
        );
        return { ...result, sourceChannels };
      }
    } catch (error) {
      if (isEmotion2VecError(error) && error.code !== 'AUDIO_DECODE') throw withFileName(error, hint.fileName);
      // A fallback's own AudioInputError may carry the short reason (ffmpeg's last error line) in details.
      const reason = isEmotion2VecError(error) ? error.details?.reason : undefined;
      fallbackProblem = typeof reason === 'string' ? reason : error instanceof Error ? error.message : String(error);
    }
  }

  const platform = getPlatform().name;
  const recognised = sniffed.kind === 'audio';
  const what = recognised ? `${sniffed.label}` : `data in an unrecognised format (first bytes ${hexHead(bytes)})`;
  // Null from an installed fallback means its tool is missing (ffmpeg not on the PATH).
  const noFallback = fallbackProblem === null;
  const fallbackPart =
    fallbackProblem ??
    (fallback
      ? `the ${platform} fallback decoder is unavailable${platform === 'node' ? ' (ffmpeg was not found)' : ''}`
      : `no fallback decoder is available on the ${platform} platform`);
  const tried = `${libraryProblem}; ${fallbackPart}`;
  const installHint = noFallback && platform === 'node' ? ', or install ffmpeg (used as a fallback decoder)' : '';
  if (!recognised || noFallback) {
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `Cannot decode ${name}: it is ${what}${extensionNote(hint.fileName, sniffed, audioFormat)}, and ${tried}. ${CONVERT_HINT}${installHint}.`,
      { details: { fileName: hint.fileName, format: sniffed.format } },
    );
  }
  throw new AudioInputError(
    'AUDIO_DECODE',
    `Cannot decode ${name} (${sniffed.label}): ${tried}. The file may be truncated or damaged: re-export or re-download it, or ${lowerFirst(CONVERT_HINT)}${installHint}.`,
    { details: { fileName: hint.fileName, format: sniffed.format } },
  );
}

/**
 * Mean of the channels in float32, summed in channel order then divided (what `torch.mean(dim=0)` computes).
 * A single channel is returned as is, without a copy.
 *
 * @throws AudioInputError `AUDIO_INVALID_TYPE` when the channels differ in length.
 */
export function mixToMono(channels: readonly Float32Array[]): Float32Array {
  const first = channels[0];
  if (first === undefined)
    throw new AudioInputError('AUDIO_EMPTY', 'There are no channels to mix: pass at least one channel of samples.');
  if (channels.length === 1) return first;
  checkEqualLengths(channels);
  const mono = new Float32Array(first.length);
  mono.set(first);
  for (let c = 1; c < channels.length; c++) {
    const channel = channels[c]!;
    for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! + channel[i]!;
  }
  const n = channels.length;
  for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! / n;
  return mono;
}

/** @throws AudioInputError `AUDIO_INVALID_TYPE` naming the first channel whose length differs from channel 0's. */
export function checkEqualLengths(channels: readonly Float32Array[]): void {
  const length = channels[0]?.length ?? 0;
  const bad = channels.findIndex((channel) => channel.length !== length);
  if (bad > 0) {
    throw new AudioInputError(
      'AUDIO_INVALID_TYPE',
      `Channel ${bad} has ${channels[bad]!.length} samples but channel 0 has ${length}: all channels must have the same length. Pad or trim them to one length.`,
      { details: { channel: bad, length: channels[bad]!.length, expected: length } },
    );
  }
}

/**
 * The format of a file's first bytes: a row of the format table, or what else they are.
 *
 * @throws AudioInputError `AUDIO_EMPTY` for no bytes, `AUDIO_UNSUPPORTED_FORMAT` for what is surely not audio (an
 *   image, a PDF, an archive...): what a server checks on an upload's first bytes before it queues the upload.
 */
export function sniffAudio(
  bytes: Uint8Array,
  fileName?: string,
): { audioFormat: AudioFormat | undefined; sniffed: SniffedFormat } {
  const name = fileName ? `"${fileName}"` : 'this audio';
  if (bytes.length === 0) {
    throw new AudioInputError(
      'AUDIO_EMPTY',
      `${capitalize(name)} is empty (0 bytes). Pass a file that contains a recording.`,
      {
        details: { fileName },
      },
    );
  }
  const audioFormat = audioFormatOf(bytes);
  const sniffed = audioFormat ? sniffedAs(audioFormat) : sniffNonAudio(bytes);
  if (sniffed.kind === 'other') {
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `${capitalize(name)} is a ${sniffed.label}, not audio${extensionNote(fileName, sniffed, audioFormat)}. ` +
        (sniffed.format === 'npy'
          ? 'Load the array yourself and pass its samples as a Float32Array (16 kHz mono) or { channels, sampleRate }.'
          : 'Pass a recording: WAV, FLAC, MP3, Ogg (Vorbis/Opus) or M4A/AAC.'),
      { details: { fileName, format: sniffed.format } },
    );
  }
  return { audioFormat, sniffed };
}

/**
 * A WAV of G.711 or ADPCM samples (what @audio/decode-wav reads) decodes to one sample a byte (G.711, 8 bits) or
 * at most two (4-bit ADPCM): its rate and channels, from the header the WAV reader already read, bound its length
 * before the codec runs.
 */
function checkCodedWavLength(byteLength: number, wavError: AudioInputError, maxSeconds: number | undefined): void {
  const { sampleRate, channels, codedBitsPerSample } = wavError.details ?? {};
  if (maxSeconds === undefined || typeof sampleRate !== 'number' || typeof channels !== 'number') return;
  if (sampleRate <= 0 || channels <= 0) return;
  const samplesPerByte = typeof codedBitsPerSample === 'number' && codedBitsPerSample >= 8 ? 1 : 2;
  const seconds = (byteLength * samplesPerByte) / channels / sampleRate;
  if (seconds > maxSeconds) throw audioTooLong(seconds, maxSeconds);
}

function finish(
  channels: Float32Array[],
  sampleRate: number,
  format: string,
  decoder: DecodedAudioResult['decoder'],
  mono: boolean,
  name: string,
  maxDurationSeconds: number | undefined,
): DecodedAudioResult {
  checkSampleRate(sampleRate, `The decoder reports for ${name}`, 'The file is corrupt or mislabelled: re-export it.');
  if (channels.length === 0 || (channels[0]?.length ?? 0) === 0) {
    throw new AudioInputError(
      'AUDIO_EMPTY',
      `${capitalize(name)} decoded to no samples. Pass a file that contains a recording.`,
    );
  }
  // Every decoder stops at the bound itself; this holds a platform's decoder (Web Audio) to it too.
  checkDuration(channels[0]!.length, sampleRate, maxDurationSeconds);
  checkEqualLengths(channels);
  const sourceChannels = channels.length;
  return { channels: mono ? [mixToMono(channels)] : channels, sampleRate, format, sourceChannels, decoder };
}

/**
 * The bundled FLAC decoder scales b-bit samples by 1/(2^(b-1) - 1); torchaudio (and our WAV reader) by
 * 1/2^(b-1). Up to 24 bits the integer is recoverable exactly from the float32 value, so the samples are
 * rescaled in place, making FLAC bit-identical to the WAV it was made from. Only applied after checking that
 * the decoder's output really is on the 2^(b-1) - 1 grid (so a decoder update cannot be "fixed" twice).
 */
function rescaleFlac(channels: Float32Array[], bytes: Uint8Array): void {
  // Native FLAC only ("fLaC", then STREAMINFO as the first metadata block); Ogg FLAC keeps its header elsewhere.
  if (
    bytes.length < 22 ||
    bytes[0] !== 0x66 ||
    bytes[1] !== 0x4c ||
    bytes[2] !== 0x61 ||
    bytes[3] !== 0x43 ||
    (bytes[4]! & 0x7f) !== 0
  )
    return;
  // Bits per sample - 1 sit in bits 4..8 from byte 20 of the stream.
  const bits = (((bytes[20]! & 0x01) << 4) | (bytes[21]! >> 4)) + 1;
  if (bits < 4 || bits > 24) return;
  const full = 2 ** (bits - 1);
  const decoderScale = full - 1;
  const probe = nonZeroSamples(channels, 4096);
  // Already exact when every value times 2^(b-1) is an integer; the decoder's grid holds up to float32 rounding (half
  // an ulp).
  if (probe.every((v) => Number.isInteger(v * full))) return;
  const halfUlp = (v: number): number => 2 ** (Math.floor(Math.log2(Math.abs(v))) - 24);
  if (
    !probe.every((v) => Math.abs(v * decoderScale - Math.round(v * decoderScale)) <= halfUlp(v) * decoderScale + 1e-9)
  )
    return;
  for (const channel of channels) {
    for (let i = 0; i < channel.length; i++) channel[i] = Math.round(channel[i]! * decoderScale) / full;
  }
}

/**
 * Up to `limit` non-zero samples, taken across all channels from the start. Zeros sit on every grid, so a
 * probe of leading silence (or of a silent first channel) would say nothing about the decoder's scale.
 */
function nonZeroSamples(channels: readonly Float32Array[], limit: number): number[] {
  const found: number[] = [];
  for (const channel of channels) {
    for (let i = 0; i < channel.length && found.length < limit; i++) {
      if (channel[i] !== 0) found.push(channel[i]!);
    }
    if (found.length >= limit) break;
  }
  return found;
}

/** Adds the file name to a typed error raised by a lower layer that did not know it. */
function withFileName(error: unknown, fileName: string | undefined): unknown {
  if (!fileName || !(error instanceof AudioInputError) || error.message.includes(fileName)) return error;
  return new AudioInputError(error.code, `"${fileName}": ${error.message}`, {
    cause: error.cause,
    details: { ...error.details, fileName },
  });
}

/** " even though its name ends in .mp3" when the name's extension is not one the detected format goes by. */
function extensionNote(
  fileName: string | undefined,
  sniffed: SniffedFormat,
  audioFormat: AudioFormat | undefined,
): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(fileName ?? '')?.[1]?.toLowerCase();
  if (!ext) return '';
  const same =
    ext === sniffed.format ||
    audioFormat?.extensions.includes(`.${ext}`) === true ||
    (ext === 'jpg' && sniffed.format === 'jpeg');
  return same ? '' : ` even though its name ends in .${ext}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
