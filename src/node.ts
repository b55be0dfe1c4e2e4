/**
 * Node entry point: the isomorphic library plus what only Node has — file paths, ffmpeg as a last-resort
 * audio decoder, the disk cache of hub models, and the backend hooks (src/backend/node-hooks.ts: the native TensorFlow backend when
 * installed, the wasm files in node_modules, wasm threads).
 */
import { readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { installFallbackDecoder } from './audio/fallback-decoder.js';
import { decodeWithFfmpeg } from './audio/ffmpeg.js';
import { ensureCachedModel } from './model/hub-cache.js';
import { installHubModelCache } from './model/hub-source.js';
import { readRegularFile, openRegularFile } from './io/regular-file.js';
import { installPlatform } from './platform.js';
import { installBackendHooks } from './backend/select.js';
import { nodeBackendHooks } from './backend/node-hooks.js';

export * from './index.js';
export { trainHead, writeHead, type TrainHeadOptions, type TrainHeadResult } from './train/train-head.js';
export { evaluate, type EvaluateOptions, type EvaluationReport } from './train/evaluate.js';
export { readLabelledData, type LabelledItem, type DataSource } from './train/dataset.js';
export { NpyFileWriter } from './io/npy-file.js';
export { cacheRoot, modelCacheFolders, downloadModelFiles } from './hub/node-cache.js';
export { ensureCachedModel } from './model/hub-cache.js';
export { convertModel, type ConvertOptions, type ConversionReport } from './model/convert.js';
export { encodeFloatWav } from './audio/wav.js';
export { writeResultFolder, readCompleteResult, EmbeddingFileStream, EmbeddingStreams, RESULT_FILE, EMBEDDING_FILE, PROCESSED_AUDIO_FILE, type ResultFolderContents, type WrittenResultFolder } from './results/folder.js';
export { writeSummaryCsv, formatSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './results/summary.js';
export { safeOutputName, uniqueOutputNames, printable, MAX_OUTPUT_NAME_BYTES } from './results/safe-name.js';

installBackendHooks(nodeBackendHooks);

installPlatform({
  name: 'node',
  readFile: readRegularFile,
  openFile: openRegularFile,
  pathFromFileUrl: (url) => fileURLToPath(url),
  isDirectory: async (path) => (await stat(path)).isDirectory(),
  listDirectory: (path) => readdir(path),
});
installFallbackDecoder(decodeWithFfmpeg);
installHubModelCache(ensureCachedModel);
