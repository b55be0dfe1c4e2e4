/**
 * The length of an MP4/M4A file's sound tracks as its sample tables state it, read before decoding: the bundled
 * AAC/ALAC decoder demuxes the whole file at once when its index (`moov`) comes after the audio, which is where
 * ffmpeg puts it, so its output cannot be bounded a piece at a time. The `stts` table (sample counts and their
 * durations) is what the demuxer walks; its sum over the track's timescale is the decoded length.
 */

/** Seconds of the longest sound track, or null when no sound track with a sample table was found. */
export function mp4SoundSeconds(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let longest: number | null = null;
  for (const moov of boxes(view, 0, bytes.length, 'moov')) {
    for (const trak of boxes(view, moov.start, moov.end, 'trak')) {
      for (const mdia of boxes(view, trak.start, trak.end, 'mdia')) {
        const hdlr = first(view, mdia, 'hdlr');
        if (!hdlr || hdlr.end - hdlr.start < 12 || fourcc(view, hdlr.start + 8) !== 'soun') continue;
        const mdhd = first(view, mdia, 'mdhd');
        const stbl = [...boxes(view, mdia.start, mdia.end, 'minf')].flatMap((minf) => [
          ...boxes(view, minf.start, minf.end, 'stbl'),
        ])[0];
        const stts = stbl && first(view, stbl, 'stts');
        if (!mdhd || !stts) continue;
        const timescale = mdhdTimescale(view, mdhd);
        if (!timescale) continue;
        const seconds = sttsTotal(view, stts) / timescale;
        longest = longest === null ? seconds : Math.max(longest, seconds);
      }
    }
  }
  return longest;
}

interface Box {
  readonly start: number;
  readonly end: number;
}

/** The boxes of one type between `from` and `to` (their bodies), skipping the others. */
function* boxes(view: DataView, from: number, to: number, type: string): Generator<Box> {
  for (let at = from; at + 8 <= to;) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > to) return;
      size = view.getUint32(at + 8) * 2 ** 32 + view.getUint32(at + 12);
      header = 16;
    } else if (size === 0) size = to - at;
    if (size < header || at + size > to) return;
    if (fourcc(view, at + 4) === type) yield { start: at + header, end: at + size };
    at += size;
  }
}

function first(view: DataView, parent: Box, type: string): Box | undefined {
  return boxes(view, parent.start, parent.end, type).next().value ?? undefined;
}

function mdhdTimescale(view: DataView, mdhd: Box): number {
  // Version 0: flags, 32-bit creation and modification times, then the timescale; version 1: 64-bit times.
  const at = mdhd.start + (view.getUint8(mdhd.start) === 1 ? 20 : 12);
  return at + 4 <= mdhd.end ? view.getUint32(at) : 0;
}

/** Sum of sample count x sample delta over the `stts` entries (in the track's timescale). */
function sttsTotal(view: DataView, stts: Box): number {
  if (stts.start + 8 > stts.end) return 0;
  const entries = view.getUint32(stts.start + 4);
  let total = 0;
  for (let i = 0, at = stts.start + 8; i < entries && at + 8 <= stts.end; i++, at += 8)
    total += view.getUint32(at) * view.getUint32(at + 4);
  return total;
}

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}
