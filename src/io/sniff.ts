/**
 * What a file is, from its first bytes (never its name), for the files that are not audio: images, PDF, archives,
 * text, .npy arrays, programs. Audio formats are rows of the format table (audio/formats.ts), whose `sniffFormat`
 * tries them first and falls back to {@link sniffNonAudio}; an error can then say what was given instead of audio
 * or of a checkpoint. The byte tests here are shared with those rows.
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

/** Byte `i` of `bytes`, or -1 past the end (so a short file simply matches no signature). */
export function byteAt(bytes: Uint8Array, i: number): number {
  return bytes[i] ?? -1;
}

/** Whether `bytes` holds the ASCII `text` at `offset`. */
export function asciiAt(bytes: Uint8Array, offset: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (byteAt(bytes, offset + i) !== text.charCodeAt(i)) return false;
  return true;
}

/** Identifies a file that is not audio from its first bytes: a known kind of file, text, or 'unknown'. */
export function sniffNonAudio(bytes: Uint8Array): SniffedFormat {
  const at = (i: number): number => byteAt(bytes, i);
  const ascii = (from: number, text: string): boolean => asciiAt(bytes, from, text);
  const other = (format: string, label: string): SniffedFormat => ({ format, label, kind: 'other' });

  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return other('webp', 'WebP image');
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
