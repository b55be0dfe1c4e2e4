/**
 * The Opus packets of a WebM (Matroska) file, e.g. what a browser's MediaRecorder writes. Hand-written on
 * purpose: the published WebM demuxers either need Node streams (ebml) or bring every codec they might meet
 * (@audio/decode-webm pulls AC-3, DTS, E-AC-3... into a bundle), while speech in WebM is Opus, and reading its
 * blocks is a short walk over EBML elements. Bounds are checked on every read; the packets are views, not copies.
 */

/** What the Opus track of a WebM file holds. */
export interface WebmOpusTrack {
  /** The OpusHead of the track's CodecPrivate (channel count, pre-skip, gain, channel mapping). */
  readonly opusHead: Uint8Array;
  /** The track's packets in file order. */
  readonly packets: Uint8Array[];
  /** Samples (at 48 kHz) of encoder padding to drop from the end: the last block's DiscardPadding. */
  readonly endPaddingSamples: number;
}

/** Why a WebM file cannot be read here: `unsupported` (another codec, lacing) or `damaged`. */
export class WebmError extends Error {
  constructor(
    readonly kind: 'unsupported' | 'damaged',
    message: string,
  ) {
    super(message);
    this.name = 'WebmError';
  }
}

const ID = {
  segment: 0x18538067,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  cluster: 0x1f43b675,
  blockGroup: 0xa0,
  block: 0xa1,
  simpleBlock: 0xa3,
  discardPadding: 0x75a2,
} as const;

/** Elements whose children are read in place (the walk enters them instead of skipping them). */
const CONTAINERS = new Set<number>([ID.segment, ID.tracks, ID.trackEntry, ID.cluster, ID.blockGroup]);

interface Track {
  number?: number;
  codec?: string;
  codecPrivate?: Uint8Array;
}

/**
 * Finds the first Opus track and its packets.
 *
 * @throws WebmError `unsupported` for a file without an Opus track or with laced blocks, `damaged` when an
 *   element runs past the end of the file.
 */
export function readWebmOpus(bytes: Uint8Array): WebmOpusTrack {
  const tracks: Track[] = [];
  const blocks: Uint8Array[] = [];
  let discardPaddingNs = 0;
  let pos = 0;
  while (pos < bytes.length) {
    const id = readVint(bytes, pos, true);
    const size = readVint(bytes, pos + id.length, false);
    const body = pos + id.length + size.length;
    if (CONTAINERS.has(id.value)) {
      if (id.value === ID.trackEntry) tracks.push({});
      pos = body; // unknown-size containers (live recordings) are fine: their children follow.
      continue;
    }
    if (size.value < 0)
      throw new WebmError('damaged', `element 0x${id.value.toString(16)} at byte ${pos} has an unknown size`);
    const end = body + size.value;
    if (end > bytes.length) {
      // A recording cut short mid-cluster: keep what came before, as players do; a header cut short is damage.
      if (id.value === ID.simpleBlock || id.value === ID.block) break;
      throw new WebmError(
        'damaged',
        `element 0x${id.value.toString(16)} at byte ${pos} runs past the end of the file (truncated)`,
      );
    }
    const track = tracks[tracks.length - 1];
    if (id.value === ID.trackNumber && track) track.number = readUint(bytes, body, size.value);
    else if (id.value === ID.codecId && track)
      track.codec = new TextDecoder().decode(bytes.subarray(body, end)).replace(/\0+$/, '');
    else if (id.value === ID.codecPrivate && track) track.codecPrivate = bytes.subarray(body, end);
    else if (id.value === ID.simpleBlock || id.value === ID.block) blocks.push(bytes.subarray(body, end));
    else if (id.value === ID.discardPadding) discardPaddingNs = readInt(bytes, body, size.value);
    pos = end;
  }

  const opus = tracks.find((track) => track.codec === 'A_OPUS');
  if (!opus) {
    const codecs = tracks.map((track) => track.codec).filter((codec): codec is string => Boolean(codec));
    throw new WebmError(
      'unsupported',
      codecs.length > 0 ? `its tracks hold ${codecs.join(', ')}, not Opus` : 'it has no audio track',
    );
  }
  if (
    !opus.codecPrivate ||
    opus.codecPrivate.length < 19 ||
    new TextDecoder().decode(opus.codecPrivate.subarray(0, 8)) !== 'OpusHead'
  ) {
    throw new WebmError('damaged', 'its Opus track has no OpusHead');
  }
  const packets: Uint8Array[] = [];
  for (const block of blocks) {
    const track = readVint(block, 0, false);
    if (track.value !== (opus.number ?? 1)) continue;
    const flags = block[track.length + 2];
    if (flags === undefined) throw new WebmError('damaged', 'a block is shorter than its header');
    if ((flags & 0x06) !== 0) throw new WebmError('unsupported', 'it uses laced blocks');
    packets.push(block.subarray(track.length + 3));
  }
  // Only the last block's padding is end padding (ffmpeg and browsers write it there alone).
  const endPaddingSamples = Math.max(0, Math.round((discardPaddingNs * 48_000) / 1e9));
  return { opusHead: opus.codecPrivate, packets, endPaddingSamples };
}

/** An EBML variable-length integer: an element ID (marker bit kept) or a size (-1 when "unknown"). */
function readVint(bytes: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number } {
  const first = bytes[at];
  if (first === undefined || first === 0) throw new WebmError('damaged', `bad EBML number at byte ${at}`);
  const length = Math.clz32(first) - 23; // 1 for 0b1xxxxxxx ... 8 for 0b00000001
  if (at + length > bytes.length)
    throw new WebmError('damaged', `EBML number at byte ${at} runs past the end of the file (truncated)`);
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const byte = bytes[at + i]!;
    value = value * 256 + byte;
    allOnes &&= byte === 0xff;
  }
  return { value: !keepMarker && allOnes ? -1 : value, length };
}

function readInt(bytes: Uint8Array, at: number, size: number): number {
  if (size === 0 || size > 6) return 0;
  const unsigned = readUint(bytes, at, size);
  return bytes[at]! & 0x80 ? unsigned - 2 ** (8 * size) : unsigned;
}

function readUint(bytes: Uint8Array, at: number, size: number): number {
  let value = 0;
  for (let i = 0; i < Math.min(size, 6); i++) value = value * 256 + bytes[at + i]!;
  return value;
}
