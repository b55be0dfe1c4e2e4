/**
 * Whole-file results assembled from segments: the path of audio longer than one full pass (and of timelines).
 * Segments are encoded one at a time ({@link SegmentRunner}); what the file result needs is folded in as each
 * one finishes — a running sum of frame embeddings for the utterance embedding and scores, frame scores, and the
 * stitched frame embeddings handed to `onFrames` or written into one (T, D) array — so memory holds one segment's
 * activations, never the whole file's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PreparedAudio } from '../audio/prepare.js';
import { FRAME_HOP_SECONDS, MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import type { SegmentOptions } from '../audio/vad.js';
import { InferenceError } from '../errors.js';
import { frameCount } from './config.js';
import { frameProbabilities, toFrameScores, type FrameScores } from './frame-scores.js';
import type { ScoringNetwork } from './network.js';
import { headScores, type HeadScores, type TopLabel } from './scores.js';
import { SegmentRunner, type SegmentOutput, type TimelineEntry } from './segment-runner.js';

/** Samples handed to the segment runner per push when the whole file is at hand: views, never copies. */
const FILE_CHUNK = MODEL_SAMPLE_RATE * 10;

/**
 * Receives stitched frame embeddings in order: `rows` is (shape[0] x shape[1]) row-major; `input` is the index of
 * the input in `predictBatch`'s list (0 for `predict`). An input's rows come in consecutive calls, a window at a time.
 */
export type FrameSink = (rows: Float32Array, shape: [number, number], input: number) => void | Promise<void>;

export interface SegmentedRequest {
  readonly segmentation?: SegmentOptions;
  /** Return the (T, D) frame embeddings (in the result, or through `onFrames`). */
  readonly frames: boolean;
  readonly onFrames?: (rows: Float32Array, shape: [number, number]) => void | Promise<void>;
  /** Smoothing window of frame scores, or null for none. */
  readonly frameScoresSeconds: number | null;
}

/** What the segment-by-segment run gives for a whole file. */
export interface SegmentedResult {
  readonly timeline: TimelineEntry[];
  readonly labels: string[];
  readonly scores: number[];
  readonly top: TopLabel | null;
  /** T: frames of a full pass over the file. */
  readonly frames: number;
  /** Mean of all frame embeddings (D). */
  readonly utterance: Float32Array;
  /** (T, D) when asked for without `onFrames`. */
  readonly frameEmbeddings?: Float32Array;
  readonly frameScores?: FrameScores;
  readonly overlapSeconds: number;
}

/** Runs a prepared file window by window (fixed windows with overlap, of the segmentation's length). */
export async function runSegmented(
  network: ScoringNetwork,
  audio: PreparedAudio,
  request: SegmentedRequest,
): Promise<SegmentedResult> {
  const { config, tokens } = network.definition;
  const dim = config.embedDim;
  const total = frameCount(config, audio.waveform.length);
  const timeline: TimelineEntry[] = [];
  const sum = new Float64Array(dim);
  const frameEmbeddings = request.frames && !request.onFrames ? new Float32Array(total * dim) : undefined;
  let probabilities: Float32Array | undefined;
  let probabilityLabels: string[] = [];
  let written = 0;

  const onSegment = async (output: SegmentOutput): Promise<void> => {
    timeline.push(output.entry);
    for (let d = 0; d < dim; d++) sum[d] = sum[d]! + output.frameSum[d]!;
    const count = output.entry.frames;
    if (output.frames) {
      if (request.onFrames) await request.onFrames(output.frames, [count, dim]);
      else frameEmbeddings!.set(output.frames, written * dim);
    }
    if (output.frameLogits) {
      const rows = frameProbabilities(output.frameLogits, count, tokens);
      probabilities ??= new Float32Array(total * rows.labels.length);
      probabilityLabels = rows.labels;
      probabilities.set(rows.data, written * rows.labels.length);
    }
    written += count;
  };

  // Fixed windows with overlap, whatever the timeline's segmentation: measured closest to a full pass
  // (docs/long-audio.md); voice-activity segments are encoded without shared context and drift much further.
  const runner = new SegmentRunner(network, {
    segmentation: { ...request.segmentation, mode: 'fixed' },
    frames: request.frames,
    frameLogits: request.frameScoresSeconds !== null,
    onSegment,
  });
  for (let start = 0; start < audio.waveform.length; start += FILE_CHUNK) {
    await runner.push(audio.waveform.subarray(start, start + FILE_CHUNK));
  }
  await runner.end();
  if (written !== total) {
    throw new InferenceError(
      'INFERENCE_FAILED',
      `Segments gave ${written} frames where a full pass gives ${total}: please report this with the audio's length (${audio.waveform.length} samples).`,
    );
  }

  const utterance = Float32Array.from(sum, (v) => v / total);
  const { labels, scores, top } = await pooledScores(network, utterance);
  const smoothing = request.frameScoresSeconds;
  return {
    timeline,
    labels,
    scores,
    top,
    frames: total,
    utterance,
    ...(frameEmbeddings ? { frameEmbeddings } : {}),
    ...(probabilities && smoothing !== null
      ? { frameScores: toFrameScores({ labels: probabilityLabels, data: probabilities }, total, smoothing) }
      : {}),
    overlapSeconds: runner.segmentPlan.seconds.overlap,
  };
}

/** The timeline of a waveform alone (its entries' scores, no frames kept). */
export async function runTimeline(
  network: ScoringNetwork,
  waveform: Float32Array,
  segmentation: SegmentOptions | undefined,
): Promise<TimelineEntry[]> {
  const timeline: TimelineEntry[] = [];
  const runner = new SegmentRunner(network, { segmentation, onSegment: (output) => void timeline.push(output.entry) });
  for (let start = 0; start < waveform.length; start += FILE_CHUNK)
    await runner.push(waveform.subarray(start, start + FILE_CHUNK));
  await runner.end();
  return timeline;
}

/** Labelled scores and top label of one pooled embedding through the head (none for an embedding-only model). */
async function pooledScores(network: ScoringNetwork, pooled: Float32Array): Promise<HeadScores> {
  if (!network.head) return headScores(null, network.definition.tokens);
  const logits = tf.tidy(() => network.head!.apply(tf.tensor2d(pooled, [1, pooled.length])));
  try {
    return headScores((await logits.data()) as Float32Array, network.definition.tokens);
  } finally {
    logits.dispose();
  }
}
