/**
 * emotion2vec-tfjs: speech emotion recognition with the emotion2vec+ models on TensorFlow.js.
 *
 * ```ts
 * import { Emotion2Vec } from 'emotion2vec-tfjs';
 * const model = await Emotion2Vec.load('./emotion2vec_plus_base');
 * const { top, labels, scores } = await model.predict('speech.wav');
 * ```
 *
 * This is the isomorphic part every runtime shares; the Node and browser entries add their platform. What is
 * exported here is the public API, kept under review by the API report (etc/*.api.md, checked by `npm test`):
 * internals stay out, so they can move without breaking users.
 */

// The model: load, predict, stream.
export {
  Emotion2Vec,
  type BatchItemResult,
  type BatchPredictOptions,
  type ComputePrecision,
  type Embedding,
  type EmotionPrediction,
  type Granularity,
  type LoadOptions,
  type LoadReadiness,
  type PredictOptions,
} from './model/emotion2vec.js';
export type { BackendChoice, BackendName } from './backend/select.js';
export type { Emotion2VecConfig } from './model/config.js';
export type { ConvLayerSpec } from './layers/conv-feature-extractor.js';
export type { LoadReport } from './layers/parameters.js';
export type { ModelSource, ModelFiles, ModelFileData, SourceOptions } from './model/sources.js';
export { WEIGHT_DTYPES, type WeightDType } from './model/weight-dtypes.js';
export type { AudioInput, PrepareOptions } from './audio/prepare.js';
export type { DecodedAudio } from './audio/types.js';
export { MODEL_SAMPLE_RATE } from './audio/frame-geometry.js';
export type { QualityReport, QualityWarning, QualityWarningCode } from './audio/quality.js';
export type { TopLabel } from './model/scores.js';

// Models by id: downloads, caches, progress.
export { DEFAULT_MODEL_ID, type HubName, type HubEndpoints } from './hub/models.js';
export type { LoadProgress, ProgressCallback, HubOptions } from './hub/progress.js';
export { BROWSER_CACHE_NAME } from './hub/browser-cache.js';

// Long audio, timelines, frame scores and live input (docs/long-audio.md).
export type { SegmentOptions } from './audio/vad.js';
export type { TimelineEntry } from './model/segment-runner.js';
export type { FrameScores, FrameScoresOption } from './model/frame-scores.js';
export type { FrameSink } from './model/long-audio.js';
// A stream comes from `model.stream()`; its class is exported as a type only.
export type { SpeechStream, StreamOptions } from './model/stream.js';
export type { MediaStreamLike } from './audio/media-stream.js';

// Results as the CLI and the server write them.
export {
  toResultRecord,
  toInlineRecord,
  toErrorRecord,
  labelNames,
  labelKeys,
  type ResultRecord,
  type ErrorRecord,
  type LabelRecord,
  type LabelNames,
  type EmbeddingRecord,
  type RecordContext,
  type InlineRecordContext,
} from './results/record.js';
export { speechTimeline, timelineToCsv, timelineToSvg, type TimelineSvgOptions } from './results/timeline.js';
export {
  toFrameSeries,
  frameSeriesToCsv,
  frameSeriesToSvg,
  MAX_INLINE_FRAME_ROWS,
  type FrameSeries,
  type FrameSeriesFiles,
  type FrameSeriesInfo,
} from './results/frame-series.js';
export type { ProcessedAudioFormat } from './results/analysis-options.js';
export { encodeNpy, decodeNpy, type NpyArray } from './io/npy.js';

// Trained heads for new labels (docs/train-head.md): the loop and the format run in any runtime.
export { encodeHeadFiles, type HeadWeights, type HeadSource, type DenseLayerWeights } from './model/trained-head.js';
export { fitHead, type FitOptions, type FitData, type FitResult, type EpochProgress } from './train/fit.js';
export { evaluatePredictions, formatEvaluation, type Evaluation, type ClassMetrics } from './train/metrics.js';
export { confusionSvg } from './train/confusion-svg.js';

// Voice-assistant helpers (docs/assistant.md).
export * from './assistant/index.js';

// Errors: every failure the library foresees is one of these, with a stable code.
export {
  AudioInputError,
  BackendError,
  CheckpointError,
  ConfigError,
  Emotion2VecError,
  InferenceError,
  UsageError,
  isEmotion2VecError,
  type ErrorCode,
} from './errors.js';
