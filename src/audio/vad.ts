/**
 * Voice-activity segmentation of 16 kHz audio into speech and non-speech segments that cover the whole signal
 * in order. One incremental segmenter serves files (fed the whole waveform at once) and live input (fed chunk
 * by chunk), so both give the same segments for the same audio.
 *
 * Features per 20 ms hop (the model's frame hop, so segment edges fall on model frames): RMS level in dBFS
 * against a noise floor tracked as the minimum level of the last seconds, and `meyda`'s spectral flatness,
 * which is near 1 for steady noise and low for speech. A frame is voiced when it is loud enough above the floor
 * and not noise-like. Segments then follow a small state machine: speech starts after `minSpeechSeconds` of
 * voiced frames (backdated to the first one), survives pauses shorter than `hangoverSeconds`, and is padded by
 * `paddingSeconds` at both ends. Any segment reaching `maxSegmentSeconds` is cut there; the pieces of such a
 * forced cut are marked so the encoder can give them `overlapSeconds` of shared context.
 */
import Meyda from 'meyda';
import { UsageError } from '../errors.js';
import { FRAME_HOP_SAMPLES, FRAME_HOP_SECONDS } from './frame-geometry.js';

/** Samples each feature frame reads from its start (a power of two for meyda's FFT). */
const FEATURE_FRAME = 512;
/** Levels are floored here so digital silence has a finite dB value. */
const LEVEL_FLOOR_DB = -100;

/** How to cut audio into segments. Every field has a default. */
export interface SegmentOptions {
  /** 'speech' (default): voice activity; 'fixed': back-to-back windows of `maxSegmentSeconds`, cut with overlap. */
  readonly mode?: 'speech' | 'fixed';
  /** Longest segment; longer speech (or silence) is cut into pieces of this length. Default 10 s. */
  readonly maxSegmentSeconds?: number;
  /**
   * Context shared across a forced cut: each piece is encoded with half of it from its neighbour on each side,
   * and only its own frames are kept. Default 1 s (measured: test/model/long-audio.test.ts, docs/long-audio.md).
   */
  readonly overlapSeconds?: number;
  /** Voiced time needed to start a speech segment. Default 0.1 s. */
  readonly minSpeechSeconds?: number;
  /** Pause that ends a speech segment; shorter pauses stay inside it. Default 0.3 s. */
  readonly hangoverSeconds?: number;
  /** Time added before and after each speech segment. Default 0.04 s. */
  readonly paddingSeconds?: number;
  /** A frame is voiced when its level is this many dB above the noise floor... Default 12 dB. */
  readonly thresholdDb?: number;
  /** ...and above this absolute level (dBFS). Default -55. */
  readonly minLevelDb?: number;
  /** Levels above this (dBFS) are voiced however high the floor estimate is. Default -30. */
  readonly loudLevelDb?: number;
  /** Frames whose spectral flatness is at least this are noise, not speech. Default 0.7. */
  readonly maxFlatness?: number;
  /** The noise floor is the lowest level of this much past audio. Default 3 s. */
  readonly noiseWindowSeconds?: number;
}

/** One segment, in model frames (320 samples, 20 ms: frame-geometry.ts): frames [startFrame, endFrame). */
export interface Segment {
  readonly startFrame: number;
  readonly endFrame: number;
  readonly speech: boolean;
  /** Cut from the previous segment inside continuous audio (max length or fixed windows): share context. */
  readonly cutBefore: boolean;
  /** Cut from the next segment the same way. */
  readonly cutAfter: boolean;
}

/** The options with every default filled in and converted to frames. */
export interface SegmentPlan {
  readonly mode: 'speech' | 'fixed';
  readonly maxFrames: number;
  /** Frames of context on each side of a forced cut (half the overlap). */
  readonly contextFrames: number;
  readonly minSpeechFrames: number;
  readonly hangoverFrames: number;
  readonly paddingFrames: number;
  readonly thresholdDb: number;
  readonly minLevelDb: number;
  readonly loudLevelDb: number;
  readonly maxFlatness: number;
  readonly noiseWindowFrames: number;
  /** The options as given, for error messages and reports. */
  readonly seconds: { readonly maxSegment: number; readonly overlap: number };
}

export const SEGMENT_DEFAULTS = {
  mode: 'speech',
  maxSegmentSeconds: 10,
  overlapSeconds: 1,
  minSpeechSeconds: 0.1,
  hangoverSeconds: 0.3,
  paddingSeconds: 0.04,
  thresholdDb: 12,
  minLevelDb: -55,
  loudLevelDb: -30,
  maxFlatness: 0.7,
  noiseWindowSeconds: 3,
} as const satisfies Required<SegmentOptions>;

/** Validates options and converts durations to 20 ms frames. @throws UsageError `INVALID_ARGUMENT`. */
export function planSegments(options: SegmentOptions = {}): SegmentPlan {
  const o = { ...SEGMENT_DEFAULTS, ...stripUndefined(options) };
  if (o.mode !== 'speech' && o.mode !== 'fixed') bad('mode', o.mode, "'speech' or 'fixed'");
  const seconds = (name: keyof typeof SEGMENT_DEFAULTS, min: number) => {
    const value = o[name] as unknown;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min)
      bad(name, value, `a number of seconds >= ${min}`);
    return value as number;
  };
  const maxSegment = seconds('maxSegmentSeconds', 0.1);
  const overlap = seconds('overlapSeconds', 0);
  if (overlap >= maxSegment) bad('overlapSeconds', overlap, `less than maxSegmentSeconds (${maxSegment})`);
  const frames = (s: number) => Math.round(s / FRAME_HOP_SECONDS);
  const number = (name: 'thresholdDb' | 'minLevelDb' | 'loudLevelDb' | 'maxFlatness') => {
    const value = o[name] as unknown;
    if (typeof value !== 'number' || !Number.isFinite(value)) bad(name, value, 'a finite number');
    return value as number;
  };
  return {
    mode: o.mode,
    maxFrames: frames(maxSegment),
    contextFrames: frames(overlap / 2),
    minSpeechFrames: Math.max(1, frames(seconds('minSpeechSeconds', 0))),
    hangoverFrames: Math.max(1, frames(seconds('hangoverSeconds', 0))),
    paddingFrames: frames(seconds('paddingSeconds', 0)),
    thresholdDb: number('thresholdDb'),
    minLevelDb: number('minLevelDb'),
    loudLevelDb: number('loudLevelDb'),
    maxFlatness: number('maxFlatness'),
    noiseWindowFrames: Math.max(1, frames(seconds('noiseWindowSeconds', FRAME_HOP_SECONDS))),
    seconds: { maxSegment, overlap },
  };
}

function bad(name: string, value: unknown, expected: string): never {
  throw new UsageError(
    'INVALID_ARGUMENT',
    `segmentation.${name} must be ${expected}; got ${JSON.stringify(value)?.slice(0, 40)}.`,
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Per-frame voicing decision. Frame i reads samples [320·i, 320·i + 512) (zeros past the end), so it needs a
 * little look-ahead and gives the same answer whether the audio came at once or in chunks.
 */
export class VoiceActivityDetector {
  /** Sliding minimum of recent levels: indices and dB values, increasing. */
  private readonly floorFrames: number[] = [];
  private readonly floorLevels: number[] = [];
  private frame = 0;
  private readonly buffer = new Float32Array(FEATURE_FRAME);

  constructor(private readonly plan: SegmentPlan) {}

  /** Decides frame `this.frame` from its 512 samples (`window`, zero-padded at the end of the audio). */
  next(window: Float32Array): boolean {
    const level = levelDb(window);
    const floor = this.trackFloor(level);
    const { thresholdDb, minLevelDb, loudLevelDb, maxFlatness } = this.plan;
    const loudEnough = level >= loudLevelDb || (level >= minLevelDb && level >= floor + thresholdDb);
    this.frame++;
    // Spectral flatness only where the level test passed: it is the costly part.
    return loudEnough && spectralFlatness(window, this.buffer) < maxFlatness;
  }

  /** Adds a level and returns the lowest level of the last `noiseWindowFrames` frames (a monotonic deque). */
  private trackFloor(level: number): number {
    const { floorFrames, floorLevels } = this;
    while (floorLevels.length > 0 && floorLevels[floorLevels.length - 1]! >= level) {
      floorLevels.pop();
      floorFrames.pop();
    }
    floorLevels.push(level);
    floorFrames.push(this.frame);
    while (floorFrames[0]! <= this.frame - this.plan.noiseWindowFrames) {
      floorFrames.shift();
      floorLevels.shift();
    }
    return floorLevels[0]!;
  }
}

function levelDb(window: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < window.length; i++) sum += window[i]! * window[i]!;
  const rms = Math.sqrt(sum / window.length);
  return rms > 0 ? Math.max(LEVEL_FLOOR_DB, 20 * Math.log10(rms)) : LEVEL_FLOOR_DB;
}

let meydaConfigured = false;

function spectralFlatness(window: Float32Array, scratch: Float32Array): number {
  if (!meydaConfigured) {
    Meyda.bufferSize = FEATURE_FRAME;
    meydaConfigured = true;
  }
  // meyda windows its input in place on some versions: hand it a copy.
  scratch.set(window);
  const value = Meyda.extract('spectralFlatness', scratch) as unknown as number;
  return Number.isFinite(value) ? value : 1;
}

/**
 * The segmenter: push 16 kHz samples, take the segments that are final. Holds only the samples of the feature
 * frames not yet decided (under 1,000) and a few counters, whatever the length of the audio.
 */
export class SpeechSegmenter {
  readonly plan: SegmentPlan;
  private readonly vad: VoiceActivityDetector;
  /** Samples received but not yet consumed by a feature frame (from sample `pendingStart`). */
  private pending = new Float32Array(0);
  private pendingStart = 0;
  private received = 0;
  private framesDecided = 0;
  private ended = false;

  // State machine.
  private inSpeech = false;
  private segmentStart = 0;
  private cutBefore = false;
  private lastVoiced = -1;
  private voicedRun = 0;
  private voicedRunStart = 0;
  /** A forced-cut piece held until the piece after it is long enough to stand alone (see `finish`). */
  private held: Segment | null = null;
  private readonly out: Segment[] = [];

  constructor(options: SegmentOptions | SegmentPlan = {}) {
    this.plan = 'maxFrames' in options ? options : planSegments(options);
    this.vad = new VoiceActivityDetector(this.plan);
  }

  /** Samples pushed so far. */
  get sampleCount(): number {
    return this.received;
  }

  /** First frame of the audio not yet handed out as a segment: samples before it are no longer needed here. */
  get openFrame(): number {
    return this.held ? this.held.startFrame : this.segmentStart;
  }

  /** Adds samples and returns the segments they completed, in order. */
  push(samples: Float32Array): Segment[] {
    if (this.ended)
      throw new UsageError('INVALID_ARGUMENT', 'This segmenter has ended; start a new one for more audio.');
    const merged = new Float32Array(this.pending.length + samples.length);
    merged.set(this.pending);
    merged.set(samples, this.pending.length);
    this.received += samples.length;
    let offset = 0;
    // A frame is decided once its whole 512-sample window has arrived.
    while (offset + FEATURE_FRAME <= merged.length) {
      this.decide(merged.subarray(offset, offset + FEATURE_FRAME));
      offset += FRAME_HOP_SAMPLES;
    }
    this.pending = merged.slice(offset);
    this.pendingStart += offset;
    return this.out.splice(0);
  }

  /** Ends the audio: decides the last frames (zero-padded) and returns the remaining segments. */
  end(): Segment[] {
    if (this.ended) return [];
    this.ended = true;
    const total = Math.ceil(this.received / FRAME_HOP_SAMPLES);
    const window = new Float32Array(FEATURE_FRAME);
    while (this.framesDecided < total) {
      window.fill(0);
      const from = this.framesDecided * FRAME_HOP_SAMPLES - this.pendingStart;
      window.set(this.pending.subarray(from, Math.min(this.pending.length, from + FEATURE_FRAME)));
      this.decide(window);
    }
    this.finish(total);
    return this.out.splice(0);
  }

  private decide(window: Float32Array): void {
    const i = this.framesDecided++;
    const voiced = this.vad.next(window);
    if (this.plan.mode === 'fixed') {
      this.fixedStep(i, voiced);
    } else {
      if (voiced) {
        if (this.voicedRun === 0) this.voicedRunStart = i;
        this.voicedRun++;
      } else {
        this.voicedRun = 0;
      }
      if (this.inSpeech) this.speechStep(i, voiced);
      else this.silenceStep(i);
    }
    this.releaseHeld(i + 1);
  }

  private silenceStep(i: number): void {
    const { minSpeechFrames, paddingFrames, maxFrames } = this.plan;
    if (this.voicedRun >= minSpeechFrames) {
      const onset = Math.max(this.segmentStart, this.voicedRunStart - paddingFrames);
      if (onset > this.segmentStart) this.close(onset, false, false);
      this.inSpeech = true;
      this.segmentStart = onset;
      this.cutBefore = false;
      this.lastVoiced = i;
      return;
    }
    // A silence reaching the maximum is cut, unless a voiced run that may start speech is under way.
    if (this.voicedRun === 0 && i + 1 - this.segmentStart >= maxFrames) this.close(i + 1, false, true);
  }

  private speechStep(i: number, voiced: boolean): void {
    const { hangoverFrames, paddingFrames, maxFrames } = this.plan;
    if (voiced) this.lastVoiced = i;
    if (i - this.lastVoiced >= hangoverFrames) {
      // After a forced cut the speech may have ended before the cut: the piece keeps at least one frame.
      const end = Math.max(this.segmentStart + 1, Math.min(this.lastVoiced + 1 + paddingFrames, i + 1));
      this.close(end, true, false);
      this.inSpeech = false;
      return;
    }
    if (i + 1 - this.segmentStart >= maxFrames) this.close(i + 1, true, true);
  }

  private fixedStep(i: number, voiced: boolean): void {
    this.voicedRun += voiced ? 1 : 0;
    if (i + 1 - this.segmentStart >= this.plan.maxFrames) this.closeFixed(i + 1);
  }

  /** Fixed windows are speech when at least half their frames are voiced. */
  private closeFixed(end: number): void {
    const speech = this.voicedRun * 2 >= end - this.segmentStart;
    this.inSpeech = speech;
    this.close(end, speech, true);
    this.voicedRun = 0;
  }

  /** Ends the current segment at `end`; the next one starts there. */
  private close(end: number, speech: boolean, cut: boolean): void {
    this.emit({ startFrame: this.segmentStart, endFrame: end, speech, cutBefore: this.cutBefore, cutAfter: cut });
    this.segmentStart = end;
    this.cutBefore = cut;
  }

  /**
   * Segments leave in order. A forced-cut piece waits until `contextFrames` (at least 3) frames of the next
   * piece exist: its encoder needs them as right context anyway, and a shorter final piece is merged into it.
   */
  private emit(segment: Segment): void {
    if (this.held) {
      this.out.push(this.held);
      this.held = null;
    }
    if (segment.cutAfter) this.held = segment;
    else this.out.push(segment);
  }

  private releaseHeld(frame: number): void {
    if (this.held && frame - this.held.endFrame >= this.minTailFrames()) {
      this.out.push(this.held);
      this.held = null;
    }
  }

  private minTailFrames(): number {
    return Math.max(3, this.plan.contextFrames);
  }

  private finish(total: number): void {
    if (this.plan.mode === 'fixed') {
      if (total > this.segmentStart) {
        const speech = this.voicedRun * 2 >= total - this.segmentStart;
        this.emitFinal({
          startFrame: this.segmentStart,
          endFrame: total,
          speech,
          cutBefore: this.cutBefore,
          cutAfter: false,
        });
      }
      this.flushHeld();
      return;
    }
    if (this.inSpeech) {
      const end = Math.max(this.segmentStart + 1, Math.min(this.lastVoiced + 1 + this.plan.paddingFrames, total));
      // A trailing silence too short to stand alone joins the speech before it.
      const speechEnd = total - end < 3 ? total : end;
      this.emitFinal({
        startFrame: this.segmentStart,
        endFrame: speechEnd,
        speech: true,
        cutBefore: this.cutBefore,
        cutAfter: false,
      });
      if (speechEnd < total)
        this.emitFinal({ startFrame: speechEnd, endFrame: total, speech: false, cutBefore: false, cutAfter: false });
    } else if (total > this.segmentStart) {
      this.emitFinal({
        startFrame: this.segmentStart,
        endFrame: total,
        speech: false,
        cutBefore: this.cutBefore,
        cutAfter: false,
      });
    }
    this.flushHeld();
  }

  /** The last segments: a piece after a forced cut shorter than the minimum tail is merged into the held piece. */
  private emitFinal(segment: Segment): void {
    if (
      this.held &&
      segment.cutBefore &&
      segment.endFrame - segment.startFrame < this.minTailFrames() &&
      this.held.endFrame === segment.startFrame
    ) {
      this.held = {
        ...this.held,
        endFrame: segment.endFrame,
        cutAfter: false,
        speech: this.held.speech || segment.speech,
      };
      return;
    }
    this.emit(segment);
  }

  /** Nothing follows a piece still held at the end. */
  private flushHeld(): void {
    if (this.held) this.out.push({ ...this.held, cutAfter: false });
    this.held = null;
  }
}

/** Segments of a whole 16 kHz waveform (the same segments a {@link SpeechSegmenter} gives chunk by chunk). */
export function segmentAudio(waveform: Float32Array, options: SegmentOptions = {}): Segment[] {
  const segmenter = new SpeechSegmenter(options);
  return [...segmenter.push(waveform), ...segmenter.end()];
}
