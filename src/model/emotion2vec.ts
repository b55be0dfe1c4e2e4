/**
 * `Emotion2Vec`: load an emotion2vec / emotion2vec+ model, hand it audio, get emotion scores and embeddings.
 * The same class runs in Node and in browsers, on whichever TensorFlow.js backend is available.
 */
import * as tf from '@tensorflow/tfjs-core';
import { prepareAudio, type AudioInput, type PrepareOptions, type PreparedAudio } from '../audio/prepare.js';
import { checkMaxDuration } from '../audio/duration-limit.js';
import { FRAME_HOP_SECONDS, MODEL_SAMPLE_RATE } from '../audio/frame-geometry.js';
import type { QualityReport } from '../audio/quality.js';
import { checkedOnGpu, selectBackend, type BackendChoice, type BackendName } from '../backend/select.js';
import { startInt8Compute } from '../backend/kernels.js';
import { AudioInputError, Emotion2VecError, InferenceError, UsageError, describeValue } from '../errors.js';
import { maskedMeanPool } from '../layers/pooling.js';
import { minimumSamples, type Emotion2VecConfig } from './config.js';
import { BackgroundPacking } from './background-packing.js';
import { Emotion2VecNetwork, type ScoringNetwork } from './network.js';
import type { LoadReport } from '../layers/parameters.js';
import { headScores, usedLabels, type TopLabel } from './scores.js';
import { resolveModelSource } from './hub-source.js';
import type { HubOptions } from '../hub/progress.js';
import { readModelContents, type ModelSource } from './sources.js';
import { normalizeWaveform } from './waveform.js';
import { TrainedHead, assertHeadFits, readHead, type HeadSource } from './trained-head.js';
import { planSegments, type SegmentOptions } from '../audio/vad.js';
import {
  frameProbabilities,
  frameScoresWindow,
  toFrameScores,
  type FrameScores,
  type FrameScoresOption,
} from './frame-scores.js';
import { runSegmented, runTimeline, type FrameSink } from './long-audio.js';
import type { TimelineEntry } from './segment-runner.js';
import { SpeechStream, type StreamOptions } from './stream.js';
import { warmUp } from './warm-up.js';
import { withInt8Matrices } from './weight-dtypes.js';

/** Audio up to this long runs in one full pass (upstream's exact path) unless `maxFullPassSeconds` says otherwise. */
export const DEFAULT_MAX_FULL_PASS_SECONDS = 30;

/**
 * `hub`, `cacheDir`, `offline`, `endpoints` and `progress` apply to models named by id
 * ('emotion2vec/emotion2vec_plus_large').
 */
export interface LoadOptions extends HubOptions {
  /** TensorFlow.js backend; 'auto' (default) picks the fastest available. */
  readonly backend?: BackendName;
  /** Location of the wasm backend's .wasm files (browsers; Node finds them itself). */
  readonly wasmPaths?: string | Record<string, string>;
  /** fetch used for URL sources. */
  readonly fetch?: typeof fetch;
  /**
   * A classification head trained with `trainHead` / `emotion2vec train-head` to use instead of the model's own:
   * its folder (path, URL, in-memory files) or its weights. Results then carry the head's labels.
   */
  readonly head?: HeadSource;
  /**
   * What the encoder's weight matrices (projection, attention projections, MLPs: most of the work) compute in:
   *
   * - `'float32'`: exact, the reference's results (the parity fixtures' bars).
   * - `'int8'`: weights as int8 with one scale per output channel (a folder converted with `--dtype int8`, or a
   *   float32 model quantized at load exactly as that conversion would), activations quantized per row, integer
   *   products: about 3x faster products and a quarter of the weight memory, with a small drift of the results
   *   (docs/performance.md has its measured size). On the wasm backend only; elsewhere the model computes in
   *   float32 and says so once.
   *
   * Default: `'int8'` for a folder converted with `--dtype int8`, `'float32'` for any other. `model.compute` says
   * what the model computes in.
   */
  readonly compute?: ComputePrecision;
  /**
   * When `load` resolves:
   *
   * - `'loaded'`: as soon as the weights are read; the backend's own forms of the weight matrices (XNNPACK's
   *   packing on wasm, about 2.5 s for the large model) are made in the background after it, and the first
   *   prediction finishes what is left.
   * - `'packed'` (default): once every weight matrix is in its backend form, so the first prediction runs at
   *   nearly full speed.
   * - `'warm'`: packed, and one inference run on a second of quiet noise (kernels compiled, buffers allocated),
   *   for a server or a worker that should answer its first request at full speed.
   */
  readonly ready?: LoadReadiness;
}

/** What the encoder's weight matrices compute in: see {@link LoadOptions.compute}. */
export type ComputePrecision = 'float32' | 'int8';

/** When `Emotion2Vec.load` resolves: see {@link LoadOptions.ready}. */
export type LoadReadiness = 'loaded' | 'packed' | 'warm';

const COMPUTE_PRECISIONS: readonly ComputePrecision[] = ['float32', 'int8'];
const LOAD_READINESS: readonly LoadReadiness[] = ['loaded', 'packed', 'warm'];

/** 'utterance': one (D,) embedding per input; 'frame': one (T, D) embedding, a row per 20 ms frame. */
export type Granularity = 'utterance' | 'frame';

export interface PredictOptions extends PrepareOptions {
  /** Shape of the returned embedding (default 'utterance'); scores are always per utterance, as upstream. */
  readonly granularity?: Granularity;
  /** Return the embedding (default false). */
  readonly embedding?: boolean;
  /** Also return `timeline`: speech and non-speech segments with their own scores (docs/long-audio.md). */
  readonly timeline?: boolean;
  /** How audio is cut into segments, for the timeline and for audio longer than `maxFullPassSeconds`. */
  readonly segmentation?: SegmentOptions;
  /** Also return `frameScores`, per-frame label scores smoothed over 0.5 s (or `{ smoothingSeconds }`). */
  readonly frameScores?: FrameScoresOption;
  /**
   * Longest audio run in one pass (default 30 s): upstream's exact path. Longer audio runs segment by segment in
   * bounded memory, and its whole-file result pools the stitched frames (docs/long-audio.md gives the deviation).
   */
  readonly maxFullPassSeconds?: number;
  /**
   * With `granularity: 'frame', embedding: true`: frame embeddings are handed here in order, a segment at a time,
   * instead of being returned (the result then has no `embedding`), so no (T, D) array is ever held. With several
   * inputs, the sink's third argument says whose rows they are (their index in the list).
   */
  readonly onFrames?: FrameSink;
  /** Also return the 16 kHz mono waveform the model was given (after resampling and trimming). Default false. */
  readonly waveform?: boolean;
}

export interface BatchPredictOptions extends PredictOptions {
  /**
   * Inputs run together in one forward pass. Results do not depend on it. Default: 1 on the single-threaded
   * wasm and cpu backends, where batching only adds padding and memory traffic (bench/RESULTS.md), 8 elsewhere.
   */
  readonly batchSize?: number;
}

/** An embedding with its shape: `[D]` for an utterance, `[T, D]` for frames. */
export interface Embedding {
  readonly data: Float32Array;
  readonly shape: [number] | [number, number];
  readonly granularity: Granularity;
}

/** What the model says about one input. */
export interface EmotionPrediction {
  /** Labels in tokens.txt order (e.g. "生气/angry"); empty for an embedding-only model. */
  readonly labels: string[];
  /** Probability of each label, same order, summing to 1. */
  readonly scores: number[];
  /** The most likely label, or null for an embedding-only model. */
  readonly top: TopLabel | null;
  /** Number of 20 ms frames the encoder produced (T). */
  readonly frames: number;
  /** Duration of the audio that was analysed, in seconds. */
  readonly durationSeconds: number;
  /** Audio facts and warnings (levels, silence, clipping). */
  readonly quality: QualityReport;
  /** Present when `embedding: true` was asked for (and no `onFrames` took the frames). */
  readonly embedding?: Embedding;
  /** Present when `timeline: true` was asked for: segments in order, covering the whole audio. */
  readonly timeline?: TimelineEntry[];
  /** Present when `frameScores` was asked for. */
  readonly frameScores?: FrameScores;
  /** Present when the audio was longer than one full pass and ran segment by segment. */
  readonly segmented?: { readonly segments: number; readonly overlapSeconds: number };
  /** With `waveform: true`: the 16 kHz mono samples the model saw (what `processed_audio.wav` holds). */
  readonly waveform?: Float32Array;
}

/**
 * One item of `predictBatch`, in input order: `{ ok: true, prediction }` with the same {@link EmotionPrediction}
 * that `predict` returns for that input alone (`prediction.top` is null for an embedding-only model;
 * `prediction.embedding` is set only when `embedding: true` was asked for), or `{ ok: false, error }` with the
 * typed error (`AudioInputError`, `InferenceError`...) that stopped this input. Narrow on `ok`:
 *
 * ```ts
 * for (const item of await model.predictBatch(files)) {
 *   if (item.ok) console.log(item.prediction.top?.label ?? '(no labels)', item.prediction.scores);
 *   else console.error(item.error.code, item.error.message);
 * }
 * ```
 */
export type BatchItemResult =
  | { readonly ok: true; readonly prediction: EmotionPrediction }
  | { readonly ok: false; readonly error: Emotion2VecError };

export class Emotion2Vec {
  private network: Emotion2VecNetwork | null;
  /** A trained head replacing the model's own (`LoadOptions.head`). */
  private head: TrainedHead | null;
  /** The weight matrices' packing, begun after the load and finished by the first prediction at the latest. */
  private readonly packing: BackgroundPacking;

  private constructor(
    network: Emotion2VecNetwork,
    /** What loading found: tensors loaded, training-only and unused tensors skipped. */
    readonly loadReport: LoadReport & {
      readonly location: string;
      readonly layout: 'checkpoint' | 'converted';
      readonly notes: readonly string[];
    },
    head: TrainedHead | null,
    /**
     * What the encoder's weight matrices compute in (see {@link LoadOptions.compute}): `'int8'` only where the int8
     * kernels run (the wasm backend).
     */
    readonly compute: ComputePrecision,
    /**
     * The backend `load` chose, and each one tried before it with the reason it was passed over: with `backend:
     * 'auto'` in a browser, e.g. `{ backend: 'webgl', skipped: [{ backend: 'webgpu', reason: 'the browser has
     * WebGPU but gave no adapter ...' }] }`. {@link backend} says what runs now.
     */
    readonly backendChoice: BackendChoice = { backend: tf.getBackend(), skipped: [] },
  ) {
    this.network = network;
    this.head = head;
    this.packing = new BackgroundPacking(network.params);
  }

  /**
   * The tfjs backend the model runs on now. tfjs backends are process-wide: loading another model with another
   * `backend` (or calling `tf.setBackend`) moves this one too, except from wasm: there its weight matrices live
   * packed in XNNPACK's form (docs/performance.md), which tfjs cannot move, so it then throws `BACKEND_CHANGED`
   * until the wasm backend is active again.
   */
  get backend(): string {
    return tf.getBackend();
  }

  /**
   * Loads a model from a checkpoint folder (config.yaml + model.pt or .safetensors + tokens.txt), a converted
   * folder (model.json), a URL of either, in-memory files, or a hub id (`emotion2vec/emotion2vec_plus_large`,
   * `iic/emotion2vec_plus_base`...), downloaded once into the cache and converted there.
   */
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Emotion2Vec> {
    const ready = oneOf('ready', options.ready, LOAD_READINESS) ?? 'packed';
    const requested = oneOf('compute', options.compute, COMPUTE_PRECISIONS);
    let choice: BackendChoice | undefined;
    await selectBackend(options.backend ?? 'auto', { ...options, onBackendChosen: (chosen) => (choice = chosen) });
    const contents = await readModelContents(await resolveModelSource(source, options), options);
    const headWeights = options.head === undefined ? null : await readHead(options.head, options);
    if (headWeights)
      assertHeadFits(headWeights, contents.definition.config.embedDim, `the model at ${contents.location}`);
    const { compute, note } = await chooseCompute(requested, contents.weights.tensors);
    const tensors = compute === 'int8' ? withInt8Matrices(contents.weights.tensors) : contents.weights.tensors;
    const head = headWeights ? TrainedHead.fromWeights(headWeights) : null;
    const network = new Emotion2VecNetwork(contents.definition);
    let report: LoadReport;
    try {
      report = network.params.load(tensors, { int8: compute === 'int8' });
      // int8 weights pack in about 0.15 s (large) and have no other form to compute with: always at load.
      if (ready !== 'loaded' || compute === 'int8') network.params.packAll();
    } catch (error) {
      network.params.dispose();
      head?.dispose();
      throw error;
    }
    const notes = [...contents.weights.notes, ...(note ? [note] : [])];
    const model = new Emotion2Vec(
      network,
      { ...report, location: contents.location, layout: contents.layout, notes },
      head,
      compute,
      choice,
    );
    if (ready === 'warm') {
      try {
        await warmUp(model);
      } catch (error) {
        model.dispose();
        throw error;
      }
    }
    options.progress?.({ status: 'ready' });
    return model;
  }

  /** The validated model configuration. */
  get config(): Emotion2VecConfig {
    return this.live().definition.config;
  }

  /** The labels results use, in order (`unuse*` placeholders dropped). */
  get labels(): string[] {
    const tokens = this.head ? this.head.tokens : this.live().definition.tokens;
    return usedLabels(tokens);
  }

  /** Embedding width D (768 base, 1024 large). */
  get embeddingDim(): number {
    return this.config.embedDim;
  }

  /** Fewest 16 kHz samples that give one frame (400 = 25 ms for emotion2vec). */
  get minimumSamples(): number {
    return minimumSamples(this.config);
  }

  /** Predicts the emotion of one recording. Throws a typed error for input it cannot use. */
  async predict(audio: AudioInput, options: PredictOptions = {}): Promise<EmotionPrediction> {
    const [result] = await this.predictBatch([audio], { ...options, batchSize: 1 });
    if (!result!.ok) throw result!.error;
    return result!.prediction;
  }

  /**
   * Predicts many recordings, several per forward pass. Resolves to one {@link BatchItemResult} per input, in
   * order: `{ ok: true, prediction }` (equal to what `predict` gives for it alone) or `{ ok: false, error }` for
   * an input that failed; the others go on.
   */
  async predictBatch(audios: readonly AudioInput[], options: BatchPredictOptions = {}): Promise<BatchItemResult[]> {
    this.live();
    if (!Array.isArray(audios)) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `predictBatch takes an array of audio inputs; got ${describeValue(audios)}. For one input, call predict(audio) or wrap it: predictBatch([audio]).`,
      );
    }
    const batchSize = options.batchSize ?? defaultBatchSize(this.backend);
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new UsageError('INVALID_ARGUMENT', `batchSize must be a positive integer; got ${batchSize}.`);
    }
    if (options.granularity !== undefined && options.granularity !== 'utterance' && options.granularity !== 'frame') {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `granularity must be 'utterance' or 'frame'; got ${JSON.stringify(options.granularity)}.`,
      );
    }
    const maxFullPass = options.maxFullPassSeconds ?? DEFAULT_MAX_FULL_PASS_SECONDS;
    if (typeof maxFullPass !== 'number' || !(maxFullPass > 0)) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `maxFullPassSeconds must be a positive number of seconds; got ${JSON.stringify(maxFullPass)?.slice(0, 40)}.`,
      );
    }
    frameScoresWindow(options.frameScores);
    planSegments(options.segmentation);
    checkMaxDuration(options.maxDurationSeconds);
    if (options.onFrames !== undefined && typeof options.onFrames !== 'function') {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `onFrames must be a function (rows, shape) => void; got ${describeValue(options.onFrames)}.`,
      );
    }

    const results: BatchItemResult[] = new Array(audios.length);
    const ready: { index: number; audio: PreparedAudio }[] = [];
    for (const [index, input] of audios.entries()) {
      let audio: PreparedAudio;
      try {
        audio = await this.prepare(input, options);
      } catch (error) {
        results[index] = { ok: false, error: asTypedError(error) };
        continue;
      }
      // Audio longer than one pass runs on its own, segment by segment, as soon as it is decoded.
      if (audio.waveform.length > maxFullPass * MODEL_SAMPLE_RATE)
        results[index] = await this.settle(() => this.runLong(audio, index, options));
      else ready.push({ index, audio });
    }
    // Similar lengths together keep padding (wasted compute) small; results do not depend on the grouping.
    ready.sort((a, b) => a.audio.waveform.length - b.audio.waveform.length);
    for (let start = 0; start < ready.length; start += batchSize) {
      const group = ready.slice(start, start + batchSize);
      try {
        const predictions = await checkedOnGpu(() =>
          this.run(
            group.map((item) => item.audio),
            group.map((item) => item.index),
            options,
          ),
        );
        group.forEach((item, i) => (results[item.index] = { ok: true, prediction: predictions[i]! }));
      } catch (error) {
        // A backend failure (e.g. out of memory) costs this group only; the other groups still run.
        const failure = this.inferenceFailure(error);
        group.forEach((item) => (results[item.index] = { ok: false, error: failure }));
      }
      if (options.timeline === true) {
        for (const item of group) {
          const result = results[item.index]!;
          if (!result.ok) continue;
          const timeline = await this.settle(() =>
            runTimeline(this.scoring(), item.audio.waveform, options.segmentation),
          );
          results[item.index] = timeline.ok
            ? { ok: true, prediction: { ...result.prediction, timeline: timeline.prediction } }
            : timeline;
        }
      }
    }
    return results;
  }

  /**
   * Live input: push chunks of samples (Node and browsers) or hand over a `MediaStream` (browsers), get a result
   * per finished speech segment, the same segments and scores `predict(audio, { timeline: true })` gives for the
   * same audio. Latency and memory are bounded by the segment length (docs/long-audio.md).
   */
  stream(options: StreamOptions = {}): SpeechStream {
    return new SpeechStream(this.scoring(), options);
  }

  /** Whole-file result of audio longer than one pass, from its segments. */
  private async runLong(audio: PreparedAudio, input: number, options: PredictOptions): Promise<EmotionPrediction> {
    const wantEmbedding = options.embedding === true;
    const wantFrames = wantEmbedding && options.granularity === 'frame';
    const sink = options.onFrames;
    const result = await runSegmented(this.scoring(), audio, {
      segmentation: options.segmentation,
      frames: wantFrames,
      onFrames: sink && ((rows, shape) => sink(rows, shape, input)),
      frameScoresSeconds: frameScoresWindow(options.frameScores),
    });
    const dim = this.config.embedDim;
    let embedding: Embedding | undefined;
    if (wantFrames && result.frameEmbeddings)
      embedding = { data: result.frameEmbeddings, shape: [result.frames, dim], granularity: 'frame' };
    else if (wantEmbedding && !wantFrames)
      embedding = { data: result.utterance, shape: [dim], granularity: 'utterance' };
    return {
      labels: result.labels,
      scores: result.scores,
      top: result.top,
      frames: result.frames,
      durationSeconds: audio.waveform.length / MODEL_SAMPLE_RATE,
      quality: audio.quality,
      ...(embedding ? { embedding } : {}),
      ...(options.timeline === true ? { timeline: await this.longTimeline(audio, options, result.timeline) } : {}),
      ...(result.frameScores ? { frameScores: result.frameScores } : {}),
      segmented: { segments: result.timeline.length, overlapSeconds: result.overlapSeconds },
      ...(options.waveform === true ? { waveform: audio.waveform } : {}),
    };
  }

  /** The windows already run are the timeline when fixed windows were asked for; speech segments need their own run. */
  private async longTimeline(
    audio: PreparedAudio,
    options: PredictOptions,
    windows: TimelineEntry[],
  ): Promise<TimelineEntry[]> {
    return options.segmentation?.mode === 'fixed'
      ? windows
      : runTimeline(this.scoring(), audio.waveform, options.segmentation);
  }

  /** Runs one item's work, turning a failure into its typed error. */
  private async settle<T>(
    work: () => Promise<T>,
  ): Promise<{ ok: true; prediction: T } | { ok: false; error: Emotion2VecError }> {
    try {
      return { ok: true, prediction: await checkedOnGpu(work) };
    } catch (error) {
      return { ok: false, error: this.inferenceFailure(error) };
    }
  }

  private inferenceFailure(error: unknown): Emotion2VecError {
    return error instanceof Emotion2VecError
      ? error
      : new InferenceError(
          'INFERENCE_FAILED',
          `The ${this.backend} backend failed while running the model: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
  }

  /** Frees every tensor the model holds. The model cannot be used afterwards. */
  dispose(): void {
    this.packing.cancel();
    this.network?.params.dispose();
    this.network = null;
    this.head?.dispose();
    this.head = null;
  }

  private async prepare(input: AudioInput, options: PrepareOptions): Promise<PreparedAudio> {
    const audio = await prepareAudio(input, options);
    const needed = this.minimumSamples;
    if (audio.waveform.length < needed) {
      throw new AudioInputError(
        'AUDIO_TOO_SHORT',
        `Audio is too short: ${audio.waveform.length} samples at 16 kHz (${((audio.waveform.length / MODEL_SAMPLE_RATE) * 1000).toFixed(1)} ms); ` +
          `the model needs at least ${needed} samples (${(needed / MODEL_SAMPLE_RATE) * 1000} ms) for one frame. Pass a longer recording.`,
      );
    }
    return audio;
  }

  /**
   * One forward pass over a padded batch (`inputs`: their indexes in the caller's list); reads back only what was asked
   * for.
   */
  private async run(
    batch: PreparedAudio[],
    inputs: readonly number[],
    options: PredictOptions,
  ): Promise<EmotionPrediction[]> {
    const network = this.scoring();
    const { config, tokens } = network.definition;
    const classifier = network.head;
    const lengths = batch.map((audio) => audio.waveform.length);
    const width = Math.max(...lengths);
    const padded = new Float32Array(batch.length * width);
    batch.forEach((audio, b) =>
      padded.set(config.normalize ? normalizeWaveform(audio.waveform) : audio.waveform, b * width),
    );

    const wantEmbedding = options.embedding === true;
    const wantFrames = wantEmbedding && options.granularity === 'frame';
    const smoothing = classifier ? frameScoresWindow(options.frameScores) : null;
    // In a tidy, so that a backend failure part-way (out of memory, a lost WebGL context) leaks nothing.
    let frameLengths: number[] = [];
    const { frames, utterance, logits, frameLogits } = tf.tidy(() => {
      const encoded = network.encoder.forward(tf.tensor2d(padded, [batch.length, width]), lengths);
      frameLengths = encoded.frameLengths;
      const pooled = maskedMeanPool(encoded.frames, encoded.frameLengths);
      const head = classifier?.apply(pooled);
      const [b, t, d] = encoded.frames.shape;
      const perFrame =
        smoothing !== null ? classifier!.apply(tf.reshape(encoded.frames, [b * t, d]) as tf.Tensor2D) : undefined;
      return {
        frames: encoded.frames,
        utterance: pooled,
        ...(head ? { logits: head } : {}),
        ...(perFrame ? { frameLogits: perFrame } : {}),
      };
    }) as { frames: tf.Tensor3D; utterance: tf.Tensor2D; logits?: tf.Tensor2D; frameLogits?: tf.Tensor2D };
    try {
      const [utteranceData, logitData, frameData, frameLogitData] = await Promise.all([
        utterance.data() as Promise<Float32Array>,
        logits ? (logits.data() as Promise<Float32Array>) : Promise.resolve(null),
        wantFrames ? (frames.data() as Promise<Float32Array>) : Promise.resolve(null),
        frameLogits ? (frameLogits.data() as Promise<Float32Array>) : Promise.resolve(null),
      ]);
      const dim = config.embedDim;
      const time = frames.shape[1];
      const predictions: EmotionPrediction[] = [];
      for (const [b, audio] of batch.entries()) {
        const row = logitData && logitData.subarray(b * tokens.length, (b + 1) * tokens.length);
        const { labels, scores, top } = headScores(row, tokens);
        const frameCount = frameLengths[b]!;
        let embedding: Embedding | undefined;
        if (wantEmbedding) {
          embedding = frameData
            ? {
                data: frameData.slice(b * time * dim, (b * time + frameCount) * dim),
                shape: [frameCount, dim],
                granularity: 'frame',
              }
            : { data: utteranceData.slice(b * dim, (b + 1) * dim), shape: [dim], granularity: 'utterance' };
        }
        if (embedding && embedding.granularity === 'frame' && options.onFrames) {
          await options.onFrames(embedding.data, [frameCount, dim], inputs[b]!);
          embedding = undefined;
        }
        let frameScores: FrameScores | undefined;
        if (frameLogitData && smoothing !== null) {
          const rows = frameProbabilities(
            frameLogitData.subarray(b * time * tokens.length, (b * time + frameCount) * tokens.length),
            frameCount,
            tokens,
          );
          frameScores = toFrameScores(rows, frameCount, smoothing);
        }
        predictions.push({
          labels,
          scores,
          top,
          frames: frameCount,
          durationSeconds: audio.waveform.length / MODEL_SAMPLE_RATE,
          quality: audio.quality,
          ...(embedding ? { embedding } : {}),
          ...(frameScores ? { frameScores } : {}),
          ...(options.waveform === true ? { waveform: audio.waveform } : {}),
        });
      }
      return predictions;
    } finally {
      tf.dispose([frames, utterance, ...(logits ? [logits] : []), ...(frameLogits ? [frameLogits] : [])]);
    }
  }

  /** The network as inference sees it: with the trained head and its labels in place of the model's own, if any. */
  private scoring(): ScoringNetwork {
    const network = this.live();
    this.packing.finish();
    return this.head
      ? { encoder: network.encoder, head: this.head, definition: { ...network.definition, tokens: this.head.tokens } }
      : network;
  }

  private live(): Emotion2VecNetwork {
    if (!this.network)
      throw new UsageError('MODEL_DISPOSED', 'This Emotion2Vec model was disposed; load it again to keep using it.');
    return this.network;
  }
}

/** `value` when it is one of `allowed` (or undefined); else a UsageError naming the option. */
function oneOf<T extends string>(option: string, value: T | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined || allowed.includes(value)) return value;
  throw new UsageError(
    'INVALID_ARGUMENT',
    `Emotion2Vec.load: ${option} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${describeValue(value)}.`,
  );
}

/**
 * What the model computes in: `requested`, else int8 for a model stored as int8; int8 only where the backend has
 * int8 kernels (started here), else float32 with a note (printed once per process) saying why.
 */
async function chooseCompute(
  requested: ComputePrecision | undefined,
  tensors: ReadonlyMap<string, { readonly dtype: string }>,
): Promise<{ compute: ComputePrecision; note?: string }> {
  const storedInt8 = [...tensors.values()].some((entry) => entry.dtype === 'int8');
  if ((requested ?? (storedInt8 ? 'int8' : 'float32')) === 'float32') return { compute: 'float32' };
  const reason = await startInt8Compute();
  if (reason === null) return { compute: 'int8' };
  const note =
    `computing in float32, not int8: ${reason}` +
    (storedInt8 ? '; the int8 weights are turned into float32 as they load' : '');
  if (!notedFloat32) console.warn(`emotion2vec-tfjs: ${note}.`);
  notedFloat32 = true;
  return { compute: 'float32', note };
}

let notedFloat32 = false;

/** Batching pays where the backend runs one big kernel faster than several small ones (GPU, native TF). */
function defaultBatchSize(backend: string): number {
  return backend === 'wasm' || backend === 'cpu' ? 1 : 8;
}

/** Errors from our own checks pass through; anything else (a bug, a backend failure) is wrapped, never lost. */
function asTypedError(error: unknown): Emotion2VecError {
  if (error instanceof Emotion2VecError) return error;
  return new AudioInputError(
    'AUDIO_DECODE',
    `Could not prepare this input: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}
