/**
 * Node entry point: the isomorphic library plus what only Node has — file paths, ffmpeg as a last-resort
 * audio decoder, the disk cache of hub models, and the backend hooks (src/backend/node-hooks.ts: the native
 * TensorFlow backend when installed, the wasm files in node_modules, wasm threads), installed when this module
 * is imported (src/node-platform.ts).
 */
import { installNodePlatform } from './node-platform.js';

export * from './index.js';
export { trainHead, writeHead, type TrainHeadOptions, type TrainHeadResult } from './train/train-head.js';
export { evaluate, type EvaluateOptions, type EvaluationReport } from './train/evaluate.js';
export { readLabelledData, type LabelledItem, type DataSource } from './train/dataset.js';
export { NpyFileWriter } from './io/npy-file.js';
export { cacheRoot, modelCacheFolders, downloadModelFiles } from './hub/node-cache.js';
export { ensureCachedModel } from './model/hub-cache.js';
export { convertModel, type ConvertOptions, type ConversionReport } from './model/convert.js';
export { installNodePlatform } from './node-platform.js';
export { encodeFloatWav } from './audio/wav.js';
export {
  writeResultFolder,
  readCompleteResult,
  EmbeddingFileStream,
  EmbeddingStreams,
  RESULT_FILE,
  EMBEDDING_FILE,
  PROCESSED_AUDIO_FILE,
  type ResultFolderContents,
  type WrittenResultFolder,
} from './results/folder.js';
export { writeSummaryCsv, formatSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './results/summary.js';
export { safeOutputName, uniqueOutputNames, printable, MAX_OUTPUT_NAME_BYTES } from './results/safe-name.js';

installNodePlatform();
