/**
 * The audio format table: one row per format speech comes in, saying how its first bytes look, the file-name
 * extensions and MIME types it goes by, and which bundled decoder reads it. Sniffing (`sniffFormat`), decoding
 * (decode.ts), the CLI's folder search and the page's file picker all read this table, so supporting a new format
 * is one row here (and, when a package decodes it, its decoder in codecs.ts).
 */
import { asciiAt, byteAt, sniffNonAudio, type SniffedFormat } from '../io/sniff.js';
import {
  decodeFlac,
  decodeMp3,
  decodeMp4,
  decodeOpus,
  decodeVorbis,
  decodeWavCodec,
  decodeWebm,
  type CodecDecoder,
} from './codecs.js';
import { isWav } from './wav.js';

/** One audio format. */
export interface AudioFormat {
  /** Short name in messages, results (`format`) and the platform fallback's hint ('wav', 'vorbis', 'm4a'...). */
  readonly format: string;
  /** Name for messages ("Ogg Vorbis audio"). */
  readonly label: string;
  /** Whether a file's first bytes are this format. */
  readonly signature: (bytes: Uint8Array) => boolean;
  /** Extensions its files go by, lower case with the dot: a file so named is not called misnamed in messages. */
  readonly extensions: readonly string[];
  /**
   * Whether the CLI's folder search picks up files with these extensions and the page's picker offers them. Off for
   * containers that more often hold video and for rare codecs: they are still read when named on the command line.
   */
  readonly searched: boolean;
  /** MIME types of its files (a recording's Blob type names the file it is saved as). */
  readonly mimeTypes: readonly string[];
  /**
   * The bundled decoder (codecs.ts); without one, the platform's fallback (ffmpeg in Node, Web Audio in browsers) reads
   * it.
   */
  readonly decoder?: CodecDecoder;
}

const ogg = (codec: (bytes: Uint8Array) => boolean) => (bytes: Uint8Array) => asciiAt(bytes, 0, 'OggS') && codec(bytes);
const isoMedia = (brand: (bytes: Uint8Array) => boolean) => (bytes: Uint8Array) =>
  asciiAt(bytes, 4, 'ftyp') && brand(bytes);
/** An MPEG audio frame sync; its layer bits are 00 for AAC in an ADTS stream, else MP3 (layer III). */
const mpegSync = (bytes: Uint8Array): boolean => byteAt(bytes, 0) === 0xff && (byteAt(bytes, 1) & 0xe0) === 0xe0;
const adtsLayer = (bytes: Uint8Array): boolean => (byteAt(bytes, 1) & 0x06) === 0;
const OGG_EXTENSIONS = ['.ogg', '.oga'];

/**
 * Rows are tried in order, so a specific signature comes before a general one on the same bytes (Ogg Opus before
 * any Ogg, an M4A brand before any ISO media file).
 */
export const AUDIO_FORMATS: readonly AudioFormat[] = [
  {
    format: 'wav',
    label: 'WAV audio',
    signature: isWav,
    extensions: ['.wav', '.wave'],
    searched: true,
    mimeTypes: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'],
    decoder: decodeWavCodec,
  },
  {
    format: 'avi',
    label: 'AVI video',
    signature: (b) => asciiAt(b, 0, 'RIFF') && asciiAt(b, 8, 'AVI '),
    extensions: ['.avi'],
    searched: false,
    mimeTypes: ['video/x-msvideo'],
  },
  {
    format: 'flac',
    label: 'FLAC audio',
    signature: (b) => asciiAt(b, 0, 'fLaC'),
    extensions: ['.flac'],
    searched: true,
    mimeTypes: ['audio/flac', 'audio/x-flac'],
    decoder: decodeFlac,
  },
  {
    format: 'opus',
    label: 'Ogg Opus audio',
    signature: ogg((b) => asciiAt(b, 28, 'OpusHead')),
    extensions: ['.opus', ...OGG_EXTENSIONS],
    searched: true,
    mimeTypes: ['audio/opus'],
    decoder: decodeOpus,
  },
  {
    format: 'vorbis',
    label: 'Ogg Vorbis audio',
    signature: ogg((b) => byteAt(b, 28) === 0x01 && asciiAt(b, 29, 'vorbis')),
    extensions: OGG_EXTENSIONS,
    searched: true,
    mimeTypes: ['audio/ogg', 'audio/vorbis'],
    decoder: decodeVorbis,
  },
  {
    format: 'flac',
    label: 'Ogg FLAC audio',
    signature: ogg((b) => byteAt(b, 28) === 0x7f && asciiAt(b, 29, 'FLAC')),
    extensions: OGG_EXTENSIONS,
    searched: true,
    mimeTypes: [],
    decoder: decodeFlac,
  },
  {
    format: 'speex',
    label: 'Ogg Speex audio',
    signature: ogg((b) => asciiAt(b, 28, 'Speex   ')),
    extensions: ['.spx', ...OGG_EXTENSIONS],
    searched: false,
    mimeTypes: ['audio/speex'],
  },
  {
    format: 'ogg',
    label: 'Ogg media',
    signature: ogg(() => true),
    extensions: OGG_EXTENSIONS,
    searched: true,
    mimeTypes: ['application/ogg'],
  },
  {
    format: 'm4a',
    label: 'M4A (MPEG-4 audio)',
    signature: isoMedia((b) => asciiAt(b, 8, 'M4A') || asciiAt(b, 8, 'M4B')),
    extensions: ['.m4a'],
    searched: true,
    mimeTypes: ['audio/mp4', 'audio/x-m4a', 'audio/m4a'],
    decoder: decodeMp4,
  },
  {
    format: 'mov',
    label: 'QuickTime movie',
    signature: isoMedia((b) => asciiAt(b, 8, 'qt  ')),
    extensions: ['.mov'],
    searched: false,
    mimeTypes: ['video/quicktime'],
    decoder: decodeMp4,
  },
  {
    format: '3gp',
    label: '3GP media',
    signature: isoMedia((b) => asciiAt(b, 8, '3g')),
    extensions: ['.3gp'],
    searched: false,
    mimeTypes: ['audio/3gpp', 'video/3gpp'],
  },
  {
    format: 'mp4',
    label: 'MPEG-4 media',
    signature: isoMedia(() => true),
    extensions: ['.mp4', '.m4a'],
    searched: true,
    mimeTypes: ['video/mp4'],
    decoder: decodeMp4,
  },
  // ID3 tags precede MP3 almost always (the decoder checks further).
  {
    format: 'mp3',
    label: 'MP3 audio',
    signature: (b) => asciiAt(b, 0, 'ID3') || (mpegSync(b) && !adtsLayer(b)),
    extensions: ['.mp3'],
    searched: true,
    mimeTypes: ['audio/mpeg', 'audio/mp3'],
    decoder: decodeMp3,
  },
  {
    format: 'aac',
    label: 'AAC (ADTS) audio',
    signature: (b) => mpegSync(b) && adtsLayer(b),
    extensions: ['.aac'],
    searched: true,
    mimeTypes: ['audio/aac', 'audio/aacp'],
    decoder: decodeMp4,
  },
  {
    format: 'aiff',
    label: 'AIFF audio',
    signature: (b) => asciiAt(b, 0, 'FORM') && (asciiAt(b, 8, 'AIFF') || asciiAt(b, 8, 'AIFC')),
    extensions: ['.aif', '.aiff'],
    searched: true,
    mimeTypes: ['audio/aiff', 'audio/x-aiff'],
  },
  {
    format: 'caf',
    label: 'Core Audio (CAF) audio',
    signature: (b) => asciiAt(b, 0, 'caff'),
    extensions: ['.caf'],
    searched: true,
    mimeTypes: ['audio/x-caf'],
  },
  {
    format: 'au',
    label: 'Sun/NeXT AU audio',
    signature: (b) => asciiAt(b, 0, '.snd'),
    extensions: ['.au', '.snd'],
    searched: false,
    mimeTypes: ['audio/basic'],
  },
  {
    format: 'amr',
    label: 'AMR audio',
    signature: (b) => asciiAt(b, 0, '#!AMR'),
    extensions: ['.amr'],
    searched: true,
    mimeTypes: ['audio/amr'],
  },
  {
    format: 'wavpack',
    label: 'WavPack audio',
    signature: (b) => asciiAt(b, 0, 'wvpk'),
    extensions: ['.wv'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'ape',
    label: "Monkey's Audio (APE)",
    signature: (b) => asciiAt(b, 0, 'MAC '),
    extensions: ['.ape'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'tta',
    label: 'TTA audio',
    signature: (b) => asciiAt(b, 0, 'TTA1'),
    extensions: ['.tta'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'mpc',
    label: 'Musepack audio',
    signature: (b) => asciiAt(b, 0, 'MPCK') || asciiAt(b, 0, 'MP+'),
    extensions: ['.mpc'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'qoa',
    label: 'QOA audio',
    signature: (b) => asciiAt(b, 0, 'qoaf'),
    extensions: ['.qoa'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'dsd',
    label: 'DSD audio',
    signature: (b) => asciiAt(b, 0, 'DSD ') || asciiAt(b, 0, 'FRM8'),
    extensions: ['.dsf', '.dff'],
    searched: false,
    mimeTypes: [],
  },
  {
    format: 'ac3',
    label: 'AC-3 audio',
    signature: (b) => byteAt(b, 0) === 0x0b && byteAt(b, 1) === 0x77,
    extensions: ['.ac3'],
    searched: false,
    mimeTypes: ['audio/ac3'],
  },
  {
    format: 'webm',
    label: 'WebM/Matroska media',
    signature: (b) => [0x1a, 0x45, 0xdf, 0xa3].every((v, i) => byteAt(b, i) === v),
    extensions: ['.webm'],
    searched: true,
    mimeTypes: ['audio/webm', 'video/webm'],
    decoder: decodeWebm,
  },
  {
    format: 'wma',
    label: 'Windows Media (ASF) audio',
    signature: (b) => [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11].every((v, i) => byteAt(b, i) === v),
    extensions: ['.wma'],
    searched: true,
    mimeTypes: ['audio/x-ms-wma'],
  },
];

/**
 * Extensions of the searched formats, lower case with the dot: what the CLI's folder search and the page's picker take.
 */
export const SEARCHED_AUDIO_EXTENSIONS: ReadonlySet<string> = new Set(
  AUDIO_FORMATS.filter((row) => row.searched).flatMap((row) => row.extensions),
);

/** The table's row for a file's first bytes, or undefined when they are no audio format of the table. */
export function audioFormatOf(bytes: Uint8Array): AudioFormat | undefined {
  return AUDIO_FORMATS.find((row) => row.signature(bytes));
}

/** What a file is, from its first bytes (never its name): a row of the table, else what io/sniff.ts recognises. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  const row = audioFormatOf(bytes);
  return row ? sniffedAs(row) : sniffNonAudio(bytes);
}

/** A row as the {@link SniffedFormat} that messages and results use. */
export function sniffedAs(row: AudioFormat): SniffedFormat {
  return { format: row.format, label: row.label, kind: 'audio' };
}

/** The extension a file of this MIME type is saved with ('audio/ogg;codecs=opus' -> '.ogg'), or undefined. */
export function extensionForMimeType(mimeType: string): string | undefined {
  const base = mimeType.split(';')[0]!.trim().toLowerCase();
  return AUDIO_FORMATS.find((row) => row.mimeTypes.includes(base))?.extensions[0];
}
