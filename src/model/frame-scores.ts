/**
 * Frame-level label scores: the classification head run on every 20 ms frame embedding instead of on their mean
 * (the head is linear, so the mean of the frame logits is the utterance logits), softmaxed per frame like the
 * utterance scores, then smoothed with a centred moving average, since single frames are noisy.
 */
import { FRAME_HOP_SECONDS } from '../audio/frame-geometry.js';
import { UsageError } from '../errors.js';
import { scoresFromLogits } from './scores.js';

/** Default smoothing window. */
export const DEFAULT_SMOOTHING_SECONDS = 0.5;

/** Scores of every label for every frame. */
export interface FrameScores {
  /** Labels, as in the utterance result. */
  readonly labels: string[];
  /** Row-major (frames x labels) probabilities, smoothed over `smoothingSeconds`; each row sums to 1. */
  readonly data: Float32Array;
  /** The same before smoothing: each frame's own softmax (the same array as `data` when nothing was smoothed). */
  readonly raw: Float32Array;
  readonly shape: [number, number];
  /** Time between rows: row t covers [t · hop, t · hop + 0.025) seconds (frame-geometry.ts). */
  readonly hopSeconds: number;
  /** Width of the centred moving average applied (0: none). */
  readonly smoothingSeconds: number;
}

/** `frameScores` option: true for the default 0.5 s smoothing, or the window to use (0 turns smoothing off). */
export type FrameScoresOption = boolean | { readonly smoothingSeconds?: number };

/** The smoothing window in seconds, or null when frame scores were not asked for. @throws UsageError */
export function frameScoresWindow(option: FrameScoresOption | undefined): number | null {
  if (option === undefined || option === false) return null;
  if (option === true) return DEFAULT_SMOOTHING_SECONDS;
  const seconds = option.smoothingSeconds ?? DEFAULT_SMOOTHING_SECONDS;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `frameScores.smoothingSeconds must be a number of seconds >= 0; got ${JSON.stringify(seconds)?.slice(0, 40)}.`,
    );
  }
  return seconds;
}

/** Per-frame softmax over the used labels: (frames x tokens) logits -> (frames x labels) probabilities. */
export function frameProbabilities(
  logits: Float32Array,
  frames: number,
  tokens: readonly string[],
): { labels: string[]; data: Float32Array } {
  const width = tokens.length;
  let labels: string[] = [];
  let data = new Float32Array(0);
  for (let t = 0; t < frames; t++) {
    const row = scoresFromLogits(logits.subarray(t * width, (t + 1) * width), tokens);
    if (t === 0) {
      labels = row.labels;
      data = new Float32Array(frames * labels.length);
    }
    data.set(row.scores, t * labels.length);
  }
  return { labels, data };
}

/**
 * The frame scores of `frames` rows of per-frame probabilities (as {@link frameProbabilities} gives them, for a
 * whole file or stitched from its segments), smoothed over `smoothingSeconds`.
 */
export function toFrameScores(
  rows: { readonly labels: string[]; readonly data: Float32Array },
  frames: number,
  smoothingSeconds: number,
): FrameScores {
  const labels = rows.labels.length;
  return {
    labels: rows.labels,
    data: smoothFrameScores(rows.data, frames, labels, smoothingSeconds),
    raw: rows.data,
    shape: [frames, labels],
    hopSeconds: FRAME_HOP_SECONDS,
    smoothingSeconds,
  };
}

/**
 * Centred moving average over `2·⌊w/2⌋ + 1` frames (w = window / hop), averaging only the frames that exist at
 * the edges. Running sums in float64: linear time whatever the window.
 */
function smoothFrameScores(data: Float32Array, frames: number, labels: number, smoothingSeconds: number): Float32Array {
  const half = Math.floor(Math.round(smoothingSeconds / FRAME_HOP_SECONDS) / 2);
  if (half === 0) return data;
  const out = new Float32Array(data.length);
  const sums = new Float64Array(labels);
  let lo = 0;
  let hi = 0; // window is frames [lo, hi)
  for (let t = 0; t < frames; t++) {
    const wantHi = Math.min(frames, t + half + 1);
    const wantLo = Math.max(0, t - half);
    for (; hi < wantHi; hi++) for (let l = 0; l < labels; l++) sums[l] = sums[l]! + data[hi * labels + l]!;
    for (; lo < wantLo; lo++) for (let l = 0; l < labels; l++) sums[l] = sums[l]! - data[lo * labels + l]!;
    for (let l = 0; l < labels; l++) out[t * labels + l] = sums[l]! / (hi - lo);
  }
  return out;
}
