/**
 * The code points a WOFF2 font maps to glyphs: its `cmap` table read straight from the file (WOFF2 stores every
 * table but glyf, loca and hmtx untransformed in one Brotli stream), formats 4 and 12. Enough to check that a
 * subset font covers the characters a page shows, without a font library.
 */
import { brotliDecompressSync } from 'node:zlib';

/** WOFF2's known-table index of cmap, glyf, loca and hmtx (the spec's table of tags). */
const CMAP = 0;
const HMTX = 3;
const GLYF = 10;
const LOCA = 11;

function readBase128(bytes: Uint8Array, at: { offset: number }): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const byte = bytes[at.offset++]!;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return value;
  }
  throw new Error('UIntBase128 longer than 5 bytes');
}

/** Every code point the font's Unicode cmap subtables map to a glyph other than .notdef. */
export function woff2CodePoints(file: Uint8Array): Set<number> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (view.getUint32(0) !== 0x774f4632) throw new Error('not a WOFF2 file');
  const tableCount = view.getUint16(12);
  const compressedSize = view.getUint32(20);
  const at = { offset: 48 };
  let cmap: { start: number; length: number } | null = null;
  let position = 0;
  for (let t = 0; t < tableCount; t++) {
    const flags = file[at.offset++]!;
    const index = flags & 0x3f;
    if (index === 63) at.offset += 4; // an explicit tag
    const version = flags >> 6;
    const originalLength = readBase128(file, at);
    const transformed = index === GLYF || index === LOCA ? version === 0 : index === HMTX && version === 1;
    const length = transformed ? readBase128(file, at) : originalLength;
    if (index === CMAP) cmap = { start: position, length };
    position += length;
  }
  if (!cmap) throw new Error('the font has no cmap table');
  const tables = brotliDecompressSync(file.subarray(at.offset, at.offset + compressedSize));
  return cmapCodePoints(new DataView(tables.buffer, tables.byteOffset + cmap.start, cmap.length));
}

function cmapCodePoints(cmap: DataView): Set<number> {
  const points = new Set<number>();
  const subtables = cmap.getUint16(2);
  for (let s = 0; s < subtables; s++) {
    const platform = cmap.getUint16(4 + s * 8);
    const offset = cmap.getUint32(4 + s * 8 + 4);
    if (platform !== 0 && platform !== 3) continue; // Unicode and Windows subtables only
    const format = cmap.getUint16(offset);
    if (format === 4) format4(cmap, offset, points);
    else if (format === 12) format12(cmap, offset, points);
  }
  return points;
}

function format4(cmap: DataView, offset: number, points: Set<number>): void {
  const segments = cmap.getUint16(offset + 6) / 2;
  const ends = offset + 14;
  const starts = ends + segments * 2 + 2;
  const deltas = starts + segments * 2;
  const rangeOffsets = deltas + segments * 2;
  for (let i = 0; i < segments; i++) {
    const end = cmap.getUint16(ends + i * 2);
    const start = cmap.getUint16(starts + i * 2);
    const delta = cmap.getInt16(deltas + i * 2);
    const rangeOffset = cmap.getUint16(rangeOffsets + i * 2);
    for (let c = start; c <= end && c !== 0xffff; c++) {
      let glyph: number;
      if (rangeOffset === 0) glyph = (c + delta) & 0xffff;
      else {
        const raw = cmap.getUint16(rangeOffsets + i * 2 + rangeOffset + (c - start) * 2);
        glyph = raw === 0 ? 0 : (raw + delta) & 0xffff;
      }
      if (glyph !== 0) points.add(c);
    }
  }
}

function format12(cmap: DataView, offset: number, points: Set<number>): void {
  const groups = cmap.getUint32(offset + 12);
  for (let g = 0; g < groups; g++) {
    const start = cmap.getUint32(offset + 16 + g * 12);
    const end = cmap.getUint32(offset + 16 + g * 12 + 4);
    const firstGlyph = cmap.getUint32(offset + 16 + g * 12 + 8);
    for (let c = start; c <= end; c++) if (firstGlyph + (c - start) !== 0) points.add(c);
  }
}
