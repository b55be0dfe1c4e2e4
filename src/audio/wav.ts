/**
 * RIFF/WAVE (and RIFX, RF64/BW64) reader: PCM 8/16/24/32-bit, IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE;
 * and the writer of the 32-bit float WAV that result folders hold (`processed_audio.wav`).
 *
 * Hand-written rather than taken from a package for three reasons:
 * - parity: samples are scaled exactly as `torchaudio.load` scales them (upstream's loader), so the model
 *   sees bit-identical input — u8 `(x - 128) / 128`, s16 `x / 2^15`, s24 `x / 2^23`, s32 `x / 2^31` in float32,
 *   float32 as is, float64 through sox's 32-bit integer sample (see soxFloat64);
 * - strictness: malformed headers (bad block align, impossible channel counts, truncated data) fail with a
 *   typed error naming the problem instead of decoding noise;
 * - memory: samples go straight from the file bytes into Float32Arrays, optionally already mixed to mono,
 *   so an hour of stereo never exists as two float channels at once.
 *
 * Size conventions handled (documented because writers disagree):
 * - a data size of 0xFFFFFFFF, or of 0 when the RIFF size is also 0/0xFFFFFFFF (a streaming writer, e.g.
 *   ffmpeg to a pipe, that never patched the header), means "to the end of the file";
 * - RF64/BW64 take the 64-bit data size from the `ds64` chunk;
 * - a data size larger than the bytes present is a truncated file and an error (AUDIO_DECODE);
 * - trailing bytes that do not make a whole frame are ignored (as torchaudio/ffmpeg do);
 * - the RIFF size itself is not trusted for anything else (many writers get it wrong).
 */
import { AudioInputError } from '../errors.js';
import { concatBytes, float32ToLittleEndian } from '../io/bytes.js';
import { checkDuration } from './duration-limit.js';
import type { DecodedAudio } from './types.js';

/** Lowest sample rate accepted anywhere in the audio pipeline, in Hz (below this nothing is speech). */
export const MIN_SAMPLE_RATE = 1000;
/** Highest sample rate accepted anywhere in the audio pipeline, in Hz (768 kHz is the highest rate in real use). */
export const MAX_SAMPLE_RATE = 768_000;
/** Most channels a WAV file may declare; more is taken as a corrupt header. */
export const MAX_WAV_CHANNELS = 256;

/** What a WAV header says about its audio. */
export interface WavInfo {
  /** 'RIFF' for ordinary files, 'RIFX' for big-endian ones, 'RF64'/'BW64' for the 64-bit variants. */
  readonly container: 'RIFF' | 'RIFX' | 'RF64' | 'BW64';
  /** False only for RIFX, the rare big-endian variant (every header field and sample is big-endian). */
  readonly littleEndian: boolean;
  /** Integer PCM or IEEE float samples. */
  readonly encoding: 'pcm' | 'float';
  /** Bits per sample as stored (the container size for WAVE_FORMAT_EXTENSIBLE). */
  readonly bitsPerSample: 8 | 16 | 24 | 32 | 64;
  /** Whether the header is WAVE_FORMAT_EXTENSIBLE. */
  readonly extensible: boolean;
  readonly channels: number;
  readonly sampleRate: number;
  /** Bytes per frame (all channels of one sample instant). */
  readonly blockAlign: number;
  /** Byte offset of the first sample in the file. */
  readonly dataOffset: number;
  /** Whole frames of audio present. */
  readonly frames: number;
}

/** Decoded WAV audio plus the facts of its header. */
export interface DecodedWav extends DecodedAudio {
  readonly format: 'wav';
  /** Channel count of the file, also when `channels` holds the mono mix only. */
  readonly sourceChannels: number;
  readonly info: WavInfo;
}

/** Options of {@link decodeWav}. */
export interface DecodeWavOptions {
  /**
   * Mix to mono while decoding: `channels` then holds one array, the float32 mean of the file's channels
   * (summed in channel order, then divided, like `torch.mean(dim=0)`). Only one float copy is ever held.
   */
  readonly mono?: boolean;
  /** Refuse (`AUDIO_TOO_LONG`) audio whose header says it is longer, before any sample is decoded. */
  readonly maxDurationSeconds?: number;
}

/** Common WAVE format tags, to name what we cannot decode. */
const FORMAT_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law',
  0x0007: 'mu-law',
  0x0011: 'IMA ADPCM',
  0x0016: 'ITU G.723 ADPCM',
  0x0031: 'GSM 6.10',
  0x0040: 'ITU G.721 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x00ff: 'AAC',
  0x0161: 'Windows Media Audio',
  0x2000: 'AC-3',
  0xf1ac: 'FLAC',
};

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_EXTENSIBLE = 0xfffe;
/** Bytes 2..15 of the KSDATAFORMAT_SUBTYPE_* GUIDs whose first two bytes are a plain format tag. */
const SUBFORMAT_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];
const UNKNOWN_SIZE = 0xffffffff;

/** True when the bytes start like a WAV file (RIFF, RIFX, RF64 or BW64 with the WAVE form type). */
export function isWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const id = fourcc(bytes, 0);
  return (id === 'RIFF' || id === 'RIFX' || id === 'RF64' || id === 'BW64') && fourcc(bytes, 8) === 'WAVE';
}

/**
 * Checks that a sample rate is a whole number of Hz in [{@link MIN_SAMPLE_RATE}, {@link MAX_SAMPLE_RATE}].
 *
 * @param what - Start of the message, saying where the rate came from ("The WAV header gives").
 * @param fix - What the user should do about it.
 * @throws AudioInputError `AUDIO_SAMPLE_RATE` otherwise.
 */
export function checkSampleRate(
  rate: number,
  what: string,
  fix = 'The file is corrupt or mislabelled: re-export it.',
): void {
  if (!Number.isInteger(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new AudioInputError(
      'AUDIO_SAMPLE_RATE',
      `${what} a sample rate of ${String(rate)} Hz, which is not usable: it must be a whole number of Hz between ${MIN_SAMPLE_RATE} and ${MAX_SAMPLE_RATE}. ${fix}`,
      { details: { sampleRate: rate } },
    );
  }
}

/**
 * Reads and validates a WAV header without decoding samples.
 *
 * @throws AudioInputError `AUDIO_DECODE` for a malformed or truncated file, `AUDIO_UNSUPPORTED_FORMAT` for a
 *   codec other than PCM/float (mu-law, ADPCM...), `AUDIO_SAMPLE_RATE` for an impossible rate, `AUDIO_EMPTY`
 *   when the data chunk holds no whole frame.
 */
export function readWavInfo(bytes: Uint8Array): WavInfo {
  if (!isWav(bytes)) {
    throw decodeError(
      'it does not start with a RIFF/WAVE header',
      'Pass a real .wav file, or let decodeAudio() detect the format.',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const container = fourcc(bytes, 0) as WavInfo['container'];
  const le = container !== 'RIFX';
  const riffSize = view.getUint32(4, le);

  let fmt: Omit<WavInfo, 'container' | 'littleEndian' | 'dataOffset' | 'frames'> | null = null;
  let ds64DataSize: number | null = null;
  let data: { offset: number; declared: number } | null = null;

  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = fourcc(bytes, offset);
    const size = view.getUint32(offset + 4, le);
    const body = offset + 8;
    if (id === 'data') {
      data = { offset: body, declared: size };
      // Chunks after the data are only needed when 'fmt ' came late (legal, rare); a streaming data chunk has no end.
      if (fmt !== null || size === UNKNOWN_SIZE || size === 0) break;
    } else if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) {
        throw decodeError(
          `its 'fmt ' chunk is ${size < 16 ? `only ${size} bytes (16 needed)` : 'cut off by the end of the file'}`,
          REPAIR_HINT,
        );
      }
      fmt = parseFmt(bytes, view, body, size, le);
    } else if (id === 'ds64' && (container === 'RF64' || container === 'BW64')) {
      if (size < 16 || body + 16 > bytes.length) throw decodeError("its 'ds64' chunk is too short", REPAIR_HINT);
      ds64DataSize = view.getUint32(body + 8, true) + view.getUint32(body + 12, true) * 2 ** 32;
    } else if (body + size > bytes.length && data === null) {
      throw decodeError(
        `its '${printable(id)}' chunk at byte ${offset} declares ${size} bytes, past the end of the ${bytes.length}-byte file, and no 'data' chunk came before it`,
        'The file is truncated or not a WAV file: re-export it.',
      );
    }
    offset = body + size + (size % 2); // chunks are padded to an even length
  }

  if (fmt === null) throw decodeError("it has no 'fmt ' chunk before the end of the file", REPAIR_HINT);
  if (data === null) {
    throw decodeError(
      "it has no 'data' chunk: the header ends without any audio",
      'The file is truncated or was never finished: re-export it.',
    );
  }

  const available = bytes.length - data.offset;
  let dataBytes: number;
  if (data.declared === UNKNOWN_SIZE && ds64DataSize !== null) {
    dataBytes = ds64DataSize;
  } else if (data.declared === UNKNOWN_SIZE || (data.declared === 0 && (riffSize === 0 || riffSize === UNKNOWN_SIZE))) {
    dataBytes = available; // streaming writer: the data runs to the end of the file
  } else {
    dataBytes = data.declared;
  }
  if (dataBytes > available) {
    throw decodeError(
      `it is truncated: the header declares ${dataBytes} bytes of audio but only ${available} are present`,
      'Re-export or re-download the file; to keep what is there, rewrite it with `ffmpeg -i in.wav out.wav`.',
      { declaredBytes: dataBytes, presentBytes: available },
    );
  }
  const frames = Math.floor(dataBytes / fmt.blockAlign);
  if (frames === 0) {
    throw new AudioInputError(
      'AUDIO_EMPTY',
      `The WAV file holds no audio: its data chunk has ${dataBytes} bytes, less than one ${fmt.blockAlign}-byte frame. Pass a recording with sound in it.`,
      { details: { dataBytes } },
    );
  }
  return { container, littleEndian: le, ...fmt, dataOffset: data.offset, frames };
}

/**
 * Decodes a WAV file into float32 samples in [-1, 1], scaled exactly like `torchaudio.load`.
 *
 * @throws AudioInputError see {@link readWavInfo}; `AUDIO_TOO_LONG` over `maxDurationSeconds`.
 */
export function decodeWav(bytes: Uint8Array, options: DecodeWavOptions = {}): DecodedWav {
  const info = readWavInfo(bytes);
  checkDuration(info.frames, info.sampleRate, options.maxDurationSeconds);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let channels: Float32Array[];
  if (options.mono === true && info.channels > 1) {
    // Sum channel by channel in a float32 accumulator, then divide: torch.mean(dim=0)'s order and rounding.
    const mono = new Float32Array(info.frames);
    for (let c = 0; c < info.channels; c++) decodeChannel(view, info, c, mono, c > 0);
    const n = info.channels;
    for (let i = 0; i < mono.length; i++) mono[i] = mono[i]! / n;
    channels = [mono];
  } else {
    channels = [];
    for (let c = 0; c < info.channels; c++) {
      const out = new Float32Array(info.frames);
      decodeChannel(view, info, c, out, false);
      channels.push(out);
    }
  }
  return { channels, sampleRate: info.sampleRate, format: 'wav', sourceChannels: info.channels, info };
}

/**
 * A 32-bit float mono WAV (WAVE_FORMAT_IEEE_FLOAT): the samples exactly, readable by soundfile, torchaudio, browsers.
 * Returned as two parts, the 44-byte header and the samples' own bytes (a view, no copy), so an hour of audio
 * (220 MiB) is written without the two more copies an encoder library makes. Written by hand for that reason;
 * the header is the canonical one wavefile writes (a test holds them byte-equal).
 */
export function floatWavParts(samples: Float32Array, sampleRate: number): [header: Uint8Array, data: Uint8Array] {
  // WAV is little-endian: a view of the samples on little-endian hosts, a converted copy elsewhere.
  return [wavHeader(FORMAT_FLOAT, 4, samples.length, sampleRate), float32ToLittleEndian(samples)];
}

/**
 * A 16-bit PCM mono WAV, the format every WAV reader takes (Python's `wave` module reads no float WAV): each
 * sample scaled by 32768 (the inverse of the decoders' and torchaudio's scaling), rounded and clipped to the 16-bit
 * range, so a sample read back is within 1/65536 of the original. Header and data as {@link floatWavParts}.
 */
export function pcm16WavParts(samples: Float32Array, sampleRate: number): [header: Uint8Array, data: Uint8Array] {
  const data = new DataView(new ArrayBuffer(samples.length * 2));
  for (let i = 0; i < samples.length; i++) {
    const scaled = Math.round(samples[i]! * 32768);
    // NaN (never in a decoded signal) would be written as 0 by setInt16: clamp keeps it so.
    data.setInt16(i * 2, Math.max(-32768, Math.min(32767, scaled)), true);
  }
  return [wavHeader(FORMAT_PCM, 2, samples.length, sampleRate), new Uint8Array(data.buffer)];
}

/** The canonical 44-byte header of a mono WAV of `frames` samples of `bytesPerSample` bytes. */
function wavHeader(format: number, bytesPerSample: number, frames: number, sampleRate: number): Uint8Array {
  const dataBytes = frames * bytesPerSample;
  const header = new DataView(new ArrayBuffer(44));
  const ascii = (offset: number, text: string) =>
    [...text].forEach((c, i) => header.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, 'RIFF');
  header.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVEfmt ');
  header.setUint32(16, 16, true); // fmt chunk size
  header.setUint16(20, format, true);
  header.setUint16(22, 1, true); // channels
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * bytesPerSample, true); // bytes per second
  header.setUint16(32, bytesPerSample, true); // block align
  header.setUint16(34, bytesPerSample * 8, true); // bits per sample
  ascii(36, 'data');
  header.setUint32(40, dataBytes, true);
  return new Uint8Array(header.buffer);
}

/** The same WAV as one byte array (for callers that need one buffer: uploads, tests). */
export function encodeFloatWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const [header, data] = floatWavParts(samples, sampleRate);
  return concatBytes([header, data], header.length + data.length);
}

const REPAIR_HINT =
  'The file is damaged or not really a WAV file: re-export it (for example `ffmpeg -i in.wav -c:a pcm_s16le out.wav`).';

function parseFmt(
  bytes: Uint8Array,
  view: DataView,
  body: number,
  size: number,
  le: boolean,
): Omit<WavInfo, 'container' | 'littleEndian' | 'dataOffset' | 'frames'> {
  let tag = view.getUint16(body, le);
  const channels = view.getUint16(body + 2, le);
  const sampleRate = view.getUint32(body + 4, le);
  const blockAlign = view.getUint16(body + 12, le);
  const bits = view.getUint16(body + 14, le);
  let extensible = false;
  if (tag === FORMAT_EXTENSIBLE) {
    if (!le) {
      throw new AudioInputError(
        'AUDIO_UNSUPPORTED_FORMAT',
        'This big-endian (RIFX) WAV file uses WAVE_FORMAT_EXTENSIBLE, which is not read here. Convert it to an ordinary WAV (for example `ffmpeg -i in.wav -c:a pcm_s16le out.wav`).',
      );
    }
    if (size < 40)
      throw decodeError(`its WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${size} bytes (40 needed)`, REPAIR_HINT);
    extensible = true;
    const validBits = view.getUint16(body + 18, true);
    if (validBits > bits) throw decodeError(`it declares ${validBits} valid bits in ${bits}-bit samples`, REPAIR_HINT);
    const guid = body + 24;
    tag = view.getUint16(guid, true);
    if (SUBFORMAT_SUFFIX.some((b, i) => bytes[guid + 2 + i] !== b)) {
      throw new AudioInputError(
        'AUDIO_UNSUPPORTED_FORMAT',
        'This WAV file uses a vendor-specific WAVE_FORMAT_EXTENSIBLE sub-format that cannot be decoded. Convert it to 16-bit PCM WAV (for example `ffmpeg -i in.wav -c:a pcm_s16le out.wav`).',
        { details: { subformat: Array.from(bytes.subarray(guid, guid + 16)) } },
      );
    }
  }
  if (tag !== FORMAT_PCM && tag !== FORMAT_FLOAT) {
    const name = FORMAT_NAMES[tag] ?? `format tag 0x${tag.toString(16).padStart(4, '0')}`;
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `This WAV file holds ${name} audio, not PCM or float samples. Convert it to 16-bit PCM WAV (for example \`ffmpeg -i in.wav -c:a pcm_s16le out.wav\`), or decode it through decodeAudio(), which falls back to ffmpeg in Node.`,
      // The rate lets a fallback decoder (a browser's decodeAudioData) keep the file's own rate.
      { details: { formatTag: tag, codec: name, sampleRate, channels, codedBitsPerSample: bits } },
    );
  }
  if (channels === 0 || channels > MAX_WAV_CHANNELS) {
    throw decodeError(
      `its header claims ${channels} channels (1 to ${MAX_WAV_CHANNELS} are accepted)`,
      'The header is corrupt: re-export the file.',
      { channels },
    );
  }
  // A header that contradicts itself is damaged, not merely unsupported: it must never reach a fallback decoder,
  // which would guess (a 7-bit header over 16-bit data reads as 8-bit noise of twice the length).
  // No PCM stream has fewer than 8 bits a sample (sub-byte codecs such as ADPCM have format tags of their own).
  if (tag === FORMAT_PCM && bits < 8) {
    throw decodeError(`its header claims ${bits}-bit PCM samples, which no PCM WAV has`, REPAIR_HINT, {
      bitsPerSample: bits,
    });
  }
  const containerBytes = Math.ceil(bits / 8);
  if (bits === 0 || blockAlign !== channels * containerBytes) {
    throw decodeError(
      `its block align is ${blockAlign} bytes but ${channels} channel(s) of ${bits}-bit samples need ${channels * containerBytes}`,
      REPAIR_HINT,
      { blockAlign, expectedAlign: channels * containerBytes, bitsPerSample: bits },
    );
  }
  const encoding = tag === FORMAT_PCM ? 'pcm' : 'float';
  const allowed = encoding === 'pcm' ? [8, 16, 24, 32] : [32, 64];
  if (!allowed.includes(bits)) {
    throw new AudioInputError(
      'AUDIO_UNSUPPORTED_FORMAT',
      `This WAV file has ${bits}-bit ${encoding === 'pcm' ? 'integer' : 'float'} samples; only ${allowed.join('/')}-bit are read. Convert it to 16-bit PCM WAV (for example \`ffmpeg -i in.wav -c:a pcm_s16le out.wav\`).`,
      { details: { bitsPerSample: bits, encoding } },
    );
  }
  checkSampleRate(sampleRate, 'The WAV header gives');
  return { encoding, bitsPerSample: bits as WavInfo['bitsPerSample'], extensible, channels, sampleRate, blockAlign };
}

/**
 * Decodes one channel into `out` (or adds it to `out` when `add`), with Float32Array stores doing the float32 rounding.
 */
function decodeChannel(view: DataView, info: WavInfo, channel: number, out: Float32Array, add: boolean): void {
  const step = info.blockAlign;
  const le = info.littleEndian;
  const frames = info.frames;
  let p = info.dataOffset + channel * (info.bitsPerSample / 8);
  // One loop per sample format keeps each loop monomorphic (an hour of audio is ~10^8 samples).
  if (info.encoding === 'float') {
    if (info.bitsPerSample === 32) {
      for (let i = 0; i < frames; i++, p += step) {
        const s = view.getFloat32(p, le);
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
    } else {
      for (let i = 0; i < frames; i++, p += step) {
        const s = soxFloat64(view.getFloat64(p, le));
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
    }
    return;
  }
  switch (info.bitsPerSample) {
    case 8:
      for (let i = 0; i < frames; i++, p += step) {
        const s = (view.getUint8(p) - 128) / 128;
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
      return;
    case 16:
      for (let i = 0; i < frames; i++, p += step) {
        const s = view.getInt16(p, le) / 32768;
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
      return;
    case 24:
      // The signed upper 16 bits times 256 plus the low byte: the 24-bit two's-complement value.
      for (let i = 0; i < frames; i++, p += step) {
        const s =
          (le
            ? view.getUint8(p) + view.getInt16(p + 1, true) * 256
            : view.getInt16(p, false) * 256 + view.getUint8(p + 2)) / 8388608;
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
      return;
    default:
      for (let i = 0; i < frames; i++, p += step) {
        // x / 2^31 is exact in float64; the Float32Array store rounds it once, like float32(x) * 2^-31.
        const s = Math.fround(view.getInt32(p, le) / 2147483648);
        if (add) out[i] = out[i]! + s;
        else out[i] = s;
      }
  }
}

/**
 * What torchaudio 0.13's sox_io backend (upstream's loader) makes of a float64 sample: sox rounds it to a 32-bit
 * integer sample (half away from zero, clipped), and SOX_SAMPLE_TO_FLOAT_32BIT rounds that to a multiple of 2^-24
 * (values within 64 steps of full scale become 1). Differs from a plain float32 cast by at most 3e-8, but keeps
 * the model input bit-identical. Non-finite values pass through so that prepareAudio can report them.
 */
function soxFloat64(value: number): number {
  if (!Number.isFinite(value)) return value;
  const scaled = value * 2147483648;
  let i = scaled < 0 ? Math.ceil(scaled - 0.5) : Math.floor(scaled + 0.5);
  if (i < -2147483648) i = -2147483648;
  if (i > 2147483647 - 64) return 1;
  return Math.floor((i + 64) / 128) / 16777216;
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);
}

function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}

function decodeError(problem: string, fix: string, details?: Record<string, unknown>): AudioInputError {
  return new AudioInputError(
    'AUDIO_DECODE',
    `Cannot decode this WAV file: ${problem}. ${fix}`,
    details ? { details } : undefined,
  );
}
