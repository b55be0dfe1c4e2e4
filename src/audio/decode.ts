/**
 * Audio file bytes to float32 channels, whatever the container: WAV through our exact reader (wav.ts),
 * compressed formats through `audio-decode` (WebAssembly decoders, same code in Node and browsers), and
 * anything else through the platform's fallback (ffmpeg in Node). Every failure becomes an AudioInputError
 * that names the file, the format and the fix; library errors never escape raw.
 */
import decodeWithLibrary from 'audio-decode';
import { AudioInputError, isEmotion2VecError } from '../errors.js';
import { getPlatform, type FallbackHint } from '../platform.js';
import type { DecodedAudio } from './types.js';
import { checkSampleRate, decodeWav } from './wav.js';

/** Hints for {@link decodeAudio}. */
export interface DecodeHint {
  /** Name of the file the bytes came from: used in messages, and to explain a misleading extension. */
  readonly fileName?: string;
  /** Return only the float32 mean of the channels (computed while decoding WAV, so it costs one copy). */
  readonly mono?: boolean;
}

/** Decoded audio plus what was learnt on the way. */
export interface DecodedAudioResult extends DecodedAudio {
  /** The detected format ('wav', 'mp3', 'flac', 'vorbis', 'opus', 'm4a', 'au'...). */
  readonly format: string;
  /** Channel count of the source, also when `channels` holds only the mono mix. */
  readonly sourceChannels: number;
  /** Which decoder produced the samples. */
  readonly decoder: 'wav' | 'audio-decode' | 'fallback';
}

/** What the first bytes of a file say it is. */
export interface SniffedFormat {
  /** Short format name ('wav', 'mp3', 'png', 'text'...), or 'unknown'. */
  readonly format: string;
  /** Human-readable name for messages ("Ogg Vorbis audio", "PNG image"). */
  readonly label: string;
  /** 'audio' for audio containers, 'other' for things known not to be audio, 'unknown' when unrecognised. */
  readonly kind: 'audio' | 'other' | 'unknown';
}

const CONVERT_HINT = 'Convert it to WAV (for example `ffmpeg -i input output.wav`)';

/**
 * Identifies a file from its first bytes. Audio containers get the name used in messages; common non-audio
 * files (images, PDF, archives, text, .npy arrays) are recognised so the error can say what they are.
 */
export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  const at = (i: number): number => bytes[i] ?? -1;
  const ascii = (from: number, text: string): boolean => [...text].every((ch, i) => at(from + i) === ch.charCodeAt(0));
  const audio = (format: string, label: string): SniffedFormat => ({ format, label, kind: 'audio' });
  const other = (format: string, label: string): SniffedFormat => ({ format, label, kind: 'other' });

  if ((ascii(0, 'RIFF') || ascii(0, 'RIFX') || ascii(0, 'RF64') || ascii(0, 'BW64')) && ascii(8, 'WAVE')) return audio('wav', 'WAV audio');
  if (ascii(0, 'RIFF') && ascii(8, 'AVI ')) return audio('avi', 'AVI video');
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return other('webp', 'WebP image');
  if (ascii(0, 'fLaC')) return audio('flac', 'FLAC audio');
  if (ascii(0, 'OggS')) {
    if (ascii(28, 'OpusHead')) return audio('opus', 'Ogg Opus audio');
    if (at(28) === 0x01 && ascii(29, 'vorbis')) return audio('vorbis', 'Ogg Vorbis audio');
    if (at(28) === 0x7f && ascii(29, 'FLAC')) return audio('flac', 'Ogg FLAC audio');
    if (ascii(28, 'Speex   ')) return audio('speex', 'Ogg Speex audio');
    return audio('ogg', 'Ogg media');
  }
  if (ascii(4, 'ftyp')) {
    if (ascii(8, 'M4A') || ascii(8, 'M4B')) return audio('m4a', 'M4A (MPEG-4 audio)');
    if (ascii(8, 'qt  ')) return audio('mov', 'QuickTime movie');
    if (ascii(8, '3g')) return audio('3gp', '3GP media');
    return audio('mp4', 'MPEG-4 media');
  }
  if (ascii(0, 'ID3')) return audio('mp3', 'MP3 audio'); // ID3 tags precede MP3 almost always (audio-decode checks further)
  if (at(0) === 0xff && (at(1) & 0xe0) === 0xe0) {
    // MPEG frame sync; layer bits 00 mean AAC in an ADTS stream.
    return (at(1) & 0x06) === 0 ? audio('aac', 'AAC (ADTS) audio') : audio('mp3', 'MP3 audio');
  }
  if (ascii(0, 'FORM') && (ascii(8, 'AIFF') || ascii(8, 'AIFC'))) return audio('aiff', 'AIFF audio');
  if (ascii(0, 'caff')) return audio('caf', 'Core Audio (CAF) audio');
  if (ascii(0, '.snd')) return audio('au', 'Sun/NeXT AU audio');
  if (ascii(0, '#!AMR')) return audio('amr', 'AMR audio');
  if (ascii(0, 'wvpk')) return audio('wavpack', 'WavPack audio');
  if (ascii(0, 'MAC ')) return audio('ape', "Monkey's Audio (APE)");
  if (ascii(0, 'TTA1')) return audio('tta', 'TTA audio');
  if (ascii(0, 'MPCK') || ascii(0, 'MP+')) return audio('mpc', 'Musepack audio');
  if (ascii(0, 'qoaf')) return audio('qoa', 'QOA audio');
  if (ascii(0, 'DSD ') || ascii(0, 'FRM8')) return audio('dsd', 'DSD audio');
  if (at(0) === 0x0b && at(1) === 0x77) return audio('ac3', 'AC-3 audio');
  if (at(0) === 0x1a && at(1) === 0x45 && at(2) === 0xdf && at(3) === 0xa3) return audio('webm', 'WebM/Matroska media');
  if ([0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11].every((b, i) => at(i) === b)) return audio('wma', 'Windows Media (ASF) audio');

  if (ascii(0, 'MThd')) return other('midi', 'MIDI file (notes, not recorded sound)');
  if (at(0) === 0x89 && ascii(1, 'PNG')) return other('png', 'PNG image');
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return other('jpeg', 'JPEG image');
  if (ascii(0, 'GIF8')) return other('gif', 'GIF image');
  if (ascii(0, '%PDF')) return other('pdf', 'PDF document');
  if (ascii(0, 'PK') && at(2) === 3 && at(3) === 4) return other('zip', 'ZIP archive (or a .docx/.xlsx/.npz)');
  if (at(0) === 0x1f && at(1) === 0x8b) return other('gzip', 'gzip archive');
  if (at(0) === 0x93 && ascii(1, 'NUMPY')) return other('npy', 'NumPy .npy array');
  if (at(0) === 0x7f && ascii(1, 'ELF')) return other('elf', 'program (ELF executable)');
  if (looksLikeText(bytes)) return other('text', 'text file');
  return { format: 'unknown', label: 'unrecognised data', kind: 'unknown' };
}

/**
 * Decodes an audio file to float32 samples at the file's own rate.
 *
 * WAV is read by {@link decodeWav} (exact torchaudio scaling); MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC, AIFF,
 * CAF, WebM, WMA, AMR... by `audio-decode`; what neither reads, or what they fail on, goes to the platform's
 * `decodeAudioFallback` (ffmpeg in Node) when there is one.
 *
 * @throws AudioInputError `AUDIO_EMPTY` (no bytes, or no samples), `AUDIO_UNSUPPORTED_FORMAT` (not audio, or
 *   no decoder for it here), `AUDIO_DECODE` (recognised but damaged), `AUDIO_SAMPLE_RATE`.
 */
export async function decodeAudio(bytes: Uint8Array, hint: DecodeHint = {}): Promise<DecodedAudioResult> {
  const name = hint.fileName ? `"${hint.fileName}"` : 'this audio';
  const mono = hint.mono === true;
  if (bytes.length === 0) {
    throw new AudioInputError('AUDIO_EMPTY', `${capitalize(name)} is empty (0 bytes). Pass a file that contains a recording.`, {
      details: { fileName: hint.fileName },
    });
  }
  const sniffed = sniffFormat(bytes);
  if (sniffed.kind === 'other') {
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `${capitalize(name)} is a ${sniffed.label}, not audio${extensionNote(hint.fileName, sniffed)}. ` +
        (sniffed.format === 'npy'
          ? 'Load the array yourself and pass its samples as a Float32Array (16 kHz mono) or { channels, sampleRate }.'
          : 'Pass a recording: WAV, FLAC, MP3, Ogg (Vorbis/Opus) or M4A/AAC.'),
      { details: { fileName: hint.fileName, format: sniffed.format } },
    );
  }

  let firstError: AudioInputError | null = null;
  if (sniffed.format === 'wav') {
    try {
      const wav = decodeWav(bytes, { mono });
      return { channels: wav.channels, sampleRate: wav.sampleRate, format: 'wav', sourceChannels: wav.sourceChannels, decoder: 'wav' };
    } catch (error) {
      // A WAV holding another codec (mu-law, ADPCM...) may still be readable below; a damaged one is not.
      if (!(isEmotion2VecError(error) && error.code === 'AUDIO_UNSUPPORTED_FORMAT')) throw withFileName(error, hint.fileName);
      firstError = error as AudioInputError;
    }
  }

  // audio-decode: the only decoder that runs the same in Node and browsers.
  let libraryProblem: string;
  let libraryKnowsFormat = true;
  try {
    const decoded = await decodeWithLibrary(bytes);
    if (sniffed.format === 'flac') rescaleFlac(decoded.channelData, bytes);
    if (decoded.channelData.length > 0 && (decoded.channelData[0]?.length ?? 0) > 0) {
      return finish(decoded.channelData, decoded.sampleRate, sniffed.format, 'audio-decode', mono, name);
    }
    libraryProblem = 'the bundled decoder found no audio in it (it may be truncated or damaged)';
  } catch (error) {
    if (isEmotion2VecError(error)) throw withFileName(error, hint.fileName);
    const message = error instanceof Error ? error.message : String(error);
    libraryKnowsFormat = !/unknown audio format|no decoder for|cannot find (module|package)|failed to (fetch|resolve)/i.test(message);
    libraryProblem = libraryKnowsFormat ? `the bundled decoder failed (${message})` : 'no bundled decoder reads this format';
  }
  if (firstError && !libraryKnowsFormat) {
    const codec = firstError.details?.codec;
    libraryProblem = typeof codec === 'string' ? `no bundled decoder reads its ${codec} samples` : 'no bundled decoder reads its sample format';
  }

  // Platform fallback (ffmpeg in Node).
  const fallback = getPlatform().decodeAudioFallback;
  let fallbackProblem: string | null = null;
  if (fallback) {
    const declaredRate = firstError?.details?.sampleRate;
    const fallbackHint: FallbackHint = {
      fileName: hint.fileName,
      format: sniffed.format === 'unknown' ? undefined : sniffed.format,
      mono,
      sampleRate: typeof declaredRate === 'number' && declaredRate > 0 ? declaredRate : undefined,
    };
    try {
      const decoded = await fallback(bytes, fallbackHint);
      if (decoded) {
        const sourceChannels = (decoded as { sourceChannels?: number }).sourceChannels ?? decoded.channels.length;
        const result = finish(decoded.channels, decoded.sampleRate, sniffed.format === 'unknown' ? (decoded.format ?? 'unknown') : sniffed.format, 'fallback', mono, name);
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
  const fallbackPart = fallbackProblem ?? (fallback ? `the ${platform} fallback decoder is unavailable${platform === 'node' ? ' (ffmpeg was not found)' : ''}` : `no fallback decoder is available on the ${platform} platform`);
  const tried = `${libraryProblem}; ${fallbackPart}`;
  const installHint = noFallback && platform === 'node' ? ', or install ffmpeg (used as a fallback decoder)' : '';
  if (!recognised || (!libraryKnowsFormat && noFallback)) {
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `Cannot decode ${name}: it is ${what}${extensionNote(hint.fileName, sniffed)}, and ${tried}. ${CONVERT_HINT}${installHint}.`,
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
  if (first === undefined) throw new AudioInputError('AUDIO_EMPTY', 'There are no channels to mix: pass at least one channel of samples.');
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

function finish(
  channels: Float32Array[],
  sampleRate: number,
  format: string,
  decoder: DecodedAudioResult['decoder'],
  mono: boolean,
  name: string,
): DecodedAudioResult {
  checkSampleRate(sampleRate, `The decoder reports for ${name}`, 'The file is corrupt or mislabelled: re-export it.');
  if (channels.length === 0 || (channels[0]?.length ?? 0) === 0) {
    throw new AudioInputError('AUDIO_EMPTY', `${capitalize(name)} decoded to no samples. Pass a file that contains a recording.`);
  }
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
  // STREAMINFO is the first metadata block of a native FLAC stream: bits per sample - 1 sit in bits 4..8 from byte 20.
  if ((bytes[4]! & 0x7f) !== 0 || bytes.length < 22) return;
  const bits = (((bytes[20]! & 0x01) << 4) | (bytes[21]! >> 4)) + 1;
  if (bits < 4 || bits > 24) return;
  const full = 2 ** (bits - 1);
  const decoderScale = full - 1;
  const probe = channels[0]?.subarray(0, 4096) ?? new Float32Array(0);
  // Already exact when every value times 2^(b-1) is an integer; the decoder's grid holds up to float32 rounding (half an ulp).
  if (probe.every((v) => Number.isInteger(v * full))) return;
  const halfUlp = (v: number): number => (v === 0 ? 0 : 2 ** (Math.floor(Math.log2(Math.abs(v))) - 24));
  if (!probe.every((v) => Math.abs(v * decoderScale - Math.round(v * decoderScale)) <= halfUlp(v) * decoderScale + 1e-9)) return;
  for (const channel of channels) {
    for (let i = 0; i < channel.length; i++) channel[i] = Math.round(channel[i]! * decoderScale) / full;
  }
}

/** Adds the file name to a typed error raised by a lower layer that did not know it. */
function withFileName(error: unknown, fileName: string | undefined): unknown {
  if (!fileName || !(error instanceof AudioInputError) || error.message.includes(fileName)) return error;
  return new AudioInputError(error.code, `"${fileName}": ${error.message}`, { cause: error.cause, details: { ...error.details, fileName } });
}

function extensionNote(fileName: string | undefined, sniffed: SniffedFormat): string {
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(fileName ?? '')?.[1]?.toLowerCase();
  if (!ext) return '';
  const same = ext === sniffed.format || (ext === 'ogg' && ['vorbis', 'opus', 'flac', 'speex'].includes(sniffed.format)) || (ext === 'jpg' && sniffed.format === 'jpeg');
  return same ? '' : ` even though its name ends in .${ext}`;
}

function looksLikeText(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 512);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    // Printable ASCII, tab/newline/carriage return, or UTF-8 lead/continuation bytes.
    if (!(b >= 0x20 && b !== 0x7f) && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}

function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
