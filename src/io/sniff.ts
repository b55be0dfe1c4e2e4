/**
 * What a file is, from its first bytes (never its name): audio containers by the name used in messages, and
 * common non-audio files (images, PDF, archives, text, .npy arrays) so that an error can say what was given
 * instead. Shared by the audio decoder and the checkpoint reader.
 */

/** What the first bytes of a file say it is. */
export interface SniffedFormat {
  /** Short format name ('wav', 'mp3', 'png', 'text'...), or 'unknown'. */
  readonly format: string;
  /** Human-readable name for messages ("Ogg Vorbis audio", "PNG image"). */
  readonly label: string;
  /** 'audio' for audio containers, 'other' for things known not to be audio, 'unknown' when unrecognised. */
  readonly kind: 'audio' | 'other' | 'unknown';
}

/** Identifies a file from its first bytes. */
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

/** The first 8 bytes in hex ("89 50 4e 47 ..."), for messages about unrecognised data. */
export function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
