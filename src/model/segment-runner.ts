/**
 * Runs the network segment by segment over audio of any length: the engine behind timelines, long files and live
 * input. Samples go in (all at once or in chunks), the {@link SpeechSegmenter} cuts them, and each finished
 * segment is encoded on its own, so memory holds one segment's activations at a time.
 *
 * Frames line up with a full pass: segmentation frame k is model frame k (samples [320k, 320k + 400)). A segment
 * owning frames [a, b) is encoded from sample 320·a to 320·b + 80, so its frames are exactly frames a..b-1 and a
 * segment with no forced cut gets upstream's result for that audio. At a forced cut (speech longer than the
 * maximum, fixed windows) both pieces are encoded with `overlap / 2` of extra audio on each side and keep only
 * their own frames ("cut in the middle"); docs/long-audio.md gives the measured effect.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice } from '../backend/kernels.js';
import { SampleBuffer } from '../audio/sample-buffer.js';
import { SpeechSegmenter, type Segment, type SegmentOptions, type SegmentPlan } from '../audio/vad.js';
import { maskedMeanPool } from '../layers/pooling.js';
import { FRAME_HOP_SAMPLES, FRAME_TAIL_SAMPLES, MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import { frameCount } from './config.js';
import type { ScoringNetwork } from './network.js';
import { headScores, type TopLabel } from './scores.js';
import { normalizeWaveform } from './waveform.js';

/** One segment of a timeline: where it is, whether it is speech, and what the model says about it. */
export interface TimelineEntry {
  /** Start, in seconds from the beginning of the audio. */
  readonly start: number;
  /** End, in seconds (the next entry's start; the last one ends at the audio's end). */
  readonly end: number;
  /** Voice activity found speech here (fixed windows: in at least half of it). */
  readonly speech: boolean;
  /** Most likely label, or null for an embedding-only model. */
  readonly top: TopLabel | null;
  /** Score of each label, in the model's label order. */
  readonly scores: number[];
  /** Model frames (20 ms) the scores were pooled over. */
  readonly frames: number;
}

/** What one encoded segment gives, beyond its timeline entry. */
export interface SegmentOutput {
  readonly entry: TimelineEntry;
  readonly segment: Segment;
  /** Sum of its frame embeddings (D values, float64), for whole-file pooling. */
  readonly frameSum: Float64Array;
  /** Its frame embeddings (frames x D), when asked for. */
  readonly frames?: Float32Array;
  /** Its per-frame logits (frames x tokens), when asked for. */
  readonly frameLogits?: Float32Array;
}

export interface SegmentRunOptions {
  readonly segmentation?: SegmentOptions;
  /** Receives each encoded segment, in order, as soon as it is done (then it may be dropped). */
  readonly onSegment: (output: SegmentOutput) => void | Promise<void>;
  /** Keep each segment's frame embeddings. */
  readonly frames?: boolean;
  /** Run the head on each frame. */
  readonly frameLogits?: boolean;
}

/**
 * Push 16 kHz mono samples, get the segments they finished, encoded. One instance per audio stream; calls must
 * not overlap (await each one).
 */
export class SegmentRunner {
  private readonly segmenter: SpeechSegmenter;
  private readonly plan: SegmentPlan;
  private readonly buffer = new SampleBuffer();
  private readonly queue: Segment[] = [];
  private ended = false;

  constructor(
    private readonly network: ScoringNetwork,
    private readonly options: SegmentRunOptions,
  ) {
    this.segmenter = new SpeechSegmenter(options.segmentation ?? {});
    this.plan = this.segmenter.plan;
  }

  /** Samples received so far. */
  get sampleCount(): number {
    return this.buffer.length;
  }

  /** The segmentation in use, defaults filled in. */
  get segmentPlan(): SegmentPlan {
    return this.plan;
  }

  /**
   * Adds samples and encodes the segments they finish, handing each to `onSegment`. The samples are kept by
   * reference until their segments are done: do not modify them.
   */
  async push(samples: Float32Array): Promise<void> {
    if (this.ended) throw new RangeError('SegmentRunner: push after end.');
    this.buffer.append(samples);
    this.queue.push(...this.segmenter.push(samples));
    await this.drain();
  }

  /** Ends the audio and encodes the remaining segments. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.queue.push(...this.segmenter.end());
    this.ended = true;
    await this.drain();
  }

  /** Encodes every queued segment whose audio (with its right context) has arrived, then forgets old audio. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const segment = this.queue[0]!;
      const range = this.audioRange(segment);
      if (!this.ended && range.to > this.buffer.length) break;
      this.queue.shift();
      await this.options.onSegment(await this.encode(segment, range));
    }
    const nextFrame = this.queue[0]?.startFrame ?? this.segmenter.openFrame;
    this.buffer.dropBefore(Math.max(0, nextFrame - this.plan.contextFrames) * FRAME_HOP_SAMPLES);
  }

  /** Samples a segment is encoded from, and how many context frames come before its own. */
  private audioRange(segment: Segment): { from: number; to: number; leftFrames: number } {
    const context = this.plan.contextFrames;
    const leftFrames = segment.cutBefore ? Math.min(context, segment.startFrame) : 0;
    const rightFrames = segment.cutAfter ? context : 0;
    const from = (segment.startFrame - leftFrames) * FRAME_HOP_SAMPLES;
    let to = (segment.endFrame + rightFrames) * FRAME_HOP_SAMPLES + FRAME_TAIL_SAMPLES;
    if (this.ended) to = Math.min(to, this.buffer.length);
    return { from, to, leftFrames };
  }

  private async encode(
    segment: Segment,
    range: { from: number; to: number; leftFrames: number },
  ): Promise<SegmentOutput> {
    const { config, tokens } = this.network.definition;
    const wave = this.buffer.slice(range.from, range.to);
    const end = Math.min(segment.endFrame * FRAME_HOP_SAMPLES, this.buffer.length);
    const place = {
      start: (segment.startFrame * FRAME_HOP_SAMPLES) / MODEL_SAMPLE_RATE,
      end: end / MODEL_SAMPLE_RATE,
      speech: segment.speech,
    };
    if (frameCount(config, wave.length) - range.leftFrames <= 0) {
      // Only live input can end this short (files under one frame are refused before): nothing to score.
      return {
        segment,
        entry: { ...place, top: null, scores: [], frames: 0 },
        frameSum: new Float64Array(config.embedDim),
      };
    }
    const input = config.normalize ? normalizeWaveform(wave) : wave;
    const wantFrames = this.options.frames === true;
    const wantFrameLogits = this.options.frameLogits === true && this.network.head !== undefined;
    let count = 0;
    const tensors = tf.tidy(() => {
      const encoded = this.network.encoder.forward(tf.tensor2d(input, [1, input.length]), [input.length]);
      const available = encoded.frameLengths[0]! - range.leftFrames;
      count = Math.max(0, Math.min(segment.endFrame - segment.startFrame, available));
      const own = slice(encoded.frames, [0, range.leftFrames, 0], [1, count, config.embedDim]) as tf.Tensor3D;
      // The same pooling op as a full pass, so a segment without forced cuts gets upstream's numbers.
      const pooled = maskedMeanPool(own, [count]);
      const frames2d = tf.reshape(own, [count, config.embedDim]) as tf.Tensor2D;
      return {
        sum: tf.sum(frames2d, 0),
        logits: this.network.head?.apply(pooled),
        frames: wantFrames ? frames2d : undefined,
        frameLogits: wantFrameLogits ? this.network.head!.apply(frames2d) : undefined,
      };
    });
    try {
      const [sum, logits, frames, frameLogits] = await Promise.all(
        [tensors.sum, tensors.logits, tensors.frames, tensors.frameLogits].map((t) =>
          t ? (t.data() as Promise<Float32Array>) : Promise.resolve(null),
        ),
      );
      const { scores, top } = headScores(logits ?? null, tokens);
      return {
        segment,
        entry: { ...place, top, scores, frames: count },
        frameSum: Float64Array.from(sum!),
        ...(frames ? { frames } : {}),
        ...(frameLogits ? { frameLogits } : {}),
      };
    } finally {
      tf.dispose(
        [tensors.sum, tensors.logits, tensors.frames, tensors.frameLogits].filter(
          (t): t is tf.Tensor => t !== undefined,
        ),
      );
    }
  }
}
