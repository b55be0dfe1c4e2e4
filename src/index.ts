/**
 * emotion2vec-tfjs: speech emotion recognition with the emotion2vec+ models on TensorFlow.js.
 *
 * ```ts
 * import { Emotion2Vec } from 'emotion2vec-tfjs';
 * const model = await Emotion2Vec.load('./emotion2vec_plus_base');
 * const { top, labels, scores } = await model.predict('speech.wav');
 * ```
 */
export {
  Emotion2Vec,
  type BatchItemResult,
  type BatchPredictOptions,
  type Embedding,
  type EmotionPrediction,
  type Granularity,
  type LoadOptions,
  type PredictOptions,
} from './model/emotion2vec.js';
export {
  selectBackend,
  installBackendHooks,
  getBackendHooks,
  type BackendName,
  type BackendOptions,
  type BackendHooks,
} from './backend/select.js';
export {
  parseConfigYaml,
  parseTokens,
  minimumSamples,
  frameCount,
  type Emotion2VecConfig,
  type ModelDefinition,
} from './model/config.js';
export {
  readModelContents,
  type ModelSource,
  type ModelFiles,
  type ModelFileData,
  type ModelContents,
} from './model/sources.js';
export { readCheckpoint } from './model/checkpoint/index.js';
export { writeConvertedModel, readConvertedModel, type ConvertedManifest } from './model/converted.js';
export { WEIGHT_DTYPES, type WeightDType } from './model/weight-dtypes.js';
export { Emotion2VecNetwork } from './model/network.js';
export {
  TrainedHead,
  readHead,
  encodeHeadFiles,
  assertHeadFits,
  type HeadWeights,
  type HeadSource,
  type HeadManifest,
  type DenseLayerWeights,
} from './model/trained-head.js';
// The trained head's class under its old name, until the public API is curated.
export { TrainedHead as ClassifierHead } from './model/trained-head.js';
export { fitHead, type FitOptions, type FitData, type FitResult, type EpochProgress } from './train/fit.js';
export { evaluatePredictions, formatEvaluation, type Evaluation, type ClassMetrics } from './train/metrics.js';
export { confusionSvg } from './train/confusion-svg.js';
export type { StateDict, TensorEntry, CheckpointContents } from './model/state-dict.js';
export type { LoadReport, ParameterSpec } from './layers/parameters.js';
export { prepareAudio, type AudioInput, type PrepareOptions, type PreparedAudio } from './audio/prepare.js';
export { MODEL_SAMPLE_RATE } from './audio/frame-geometry.js';
export { decodeAudio, type DecodeHint, type DecodedAudioResult } from './audio/decode.js';
export { sniffFormat } from './audio/formats.js';
export type { SniffedFormat } from './io/sniff.js';
export { resample } from './audio/resample.js';
export {
  analyzeQuality,
  assertQuality,
  QUALITY_THRESHOLDS,
  type QualityReport,
  type QualityWarning,
  type QualityWarningCode,
} from './audio/quality.js';
export { trimSilence, type TrimOptions, type TrimResult } from './audio/trim.js';
export type { DecodedAudio } from './audio/types.js';
export { installPlatform, getPlatform, type Platform, type ReadFileOptions } from './platform.js';
export {
  installFallbackDecoder,
  getFallbackDecoder,
  type FallbackDecoder,
  type FallbackHint,
  type FallbackDecodedAudio,
} from './audio/fallback-decoder.js';
export { installHubModelCache, type HubModelCache } from './model/hub-source.js';
export { encodeNpy, decodeNpy, type NpyArray } from './io/npy.js';
export {
  DEFAULT_MODEL_ID,
  hubFileUrl,
  hubEndpoints,
  resolveHubModel,
  parseHubName,
  looksLikeHubId,
  type HubModel,
  type HubName,
  type HubEndpoints,
} from './hub/models.js';
export type { LoadProgress, ProgressCallback, HubOptions } from './hub/progress.js';
export { fetchHubModelFiles, BROWSER_CACHE_NAME } from './hub/browser-cache.js';
export {
  toResultRecord,
  toErrorRecord,
  labelNames,
  type ResultRecord,
  type ErrorRecord,
  type LabelScore,
  type LabelNames,
  type EmbeddingRecord,
  type RecordContext,
} from './results/record.js';
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
export * from './assistant/index.js';
// Long audio: segmentation, timelines, frame scores, live input (docs/long-audio.md).
export {
  segmentAudio,
  planSegments,
  SpeechSegmenter,
  SEGMENT_DEFAULTS,
  type Segment,
  type SegmentOptions,
  type SegmentPlan,
} from './audio/vad.js';
export { StreamingResampler } from './audio/resample.js';
export type { TimelineEntry } from './model/segment-runner.js';
export type { TopLabel } from './model/scores.js';
export type { FrameScores, FrameScoresOption } from './model/frame-scores.js';
export type { FrameSink } from './model/long-audio.js';
export { SpeechStream, type StreamOptions } from './model/stream.js';
export { timelineToCsv, timelineToSvg, type TimelineSvgOptions } from './results/timeline.js';
