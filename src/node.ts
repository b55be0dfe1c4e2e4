/**
 * Node entry point: the isomorphic library plus what only Node has — file paths, ffmpeg as a last-resort
 * audio decoder, the native TensorFlow backend (@tensorflow/tfjs-node-gpu or tfjs-node, when installed) and
 * the wasm files in node_modules.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWithFfmpeg } from './audio/ffmpeg.js';
import { ensureCachedModel } from './hub/node-cache.js';
import { readRegularFile, openRegularFile } from './io/regular-file.js';
import { installPlatform } from './platform.js';
import { configureWasmThreads } from './backend/wasm/node-threads.js';

export * from './index.js';
export { trainHead, writeHead, type TrainHeadOptions, type TrainHeadResult } from './train/train-head.js';
export { evaluate, type EvaluateOptions, type EvaluationReport } from './train/evaluate.js';
export { readLabelledData, type LabelledItem, type DataSource } from './train/dataset.js';
export { NpyFileWriter } from './io/npy-file.js';
export { cacheRoot, modelCacheFolders, ensureCachedModel, downloadModelFiles } from './hub/node-cache.js';
export { encodeFloatWav } from './audio/wav.js';
export { writeResultFolder, readCompleteResult, EmbeddingFileStream, EmbeddingStreams, RESULT_FILE, EMBEDDING_FILE, PROCESSED_AUDIO_FILE, type ResultFolderContents, type WrittenResultFolder } from './results/folder.js';
export { writeSummaryCsv, formatSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './results/summary.js';
export { safeOutputName, uniqueOutputNames, printable, MAX_OUTPUT_NAME_BYTES } from './results/safe-name.js';

const require = createRequire(import.meta.url);

// Every core for the wasm backend's products (docs/performance.md); EMOTION2VEC_WASM_THREADS=0 keeps tfjs'
// single-threaded build, =n sets the thread count.
configureWasmThreads(process.env.EMOTION2VEC_WASM_THREADS);

/** Tried in this order; the names are variables so that bundlers leave these optional imports alone. */
const NATIVE_BACKEND_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

let nativeBackend: Promise<string | null> | null = null;

async function registerNativeBackend(): Promise<string | null> {
  const reasons: string[] = [];
  for (const name of NATIVE_BACKEND_PACKAGES) {
    try {
      await import(name);
    } catch (error) {
      const code = (error as { code?: string }).code;
      reasons.push(code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? `${name} is not installed` : `${name} failed to load (${(error as Error).message.split('\n')[0]})`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) return null;
    reasons.push(`${name} loaded but registered into another copy of @tensorflow/tfjs-core (install the same version as this package's)`);
  }
  return reasons.join('; ');
}

function wasmDirectory(): string | undefined {
  try {
    return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
  } catch {
    return undefined;
  }
}

installPlatform({
  name: 'node',
  preferredBackends: ['tensorflow', 'wasm', 'cpu'],
  readFile: readRegularFile,
  openFile: openRegularFile,
  pathFromFileUrl: (url) => fileURLToPath(url),
  isDirectory: async (path) => (await stat(path)).isDirectory(),
  listDirectory: (path) => readdir(path),
  decodeAudioFallback: decodeWithFfmpeg,
  registerNativeBackend: () => (nativeBackend ??= registerNativeBackend()),
  defaultWasmPaths: wasmDirectory,
  fetchHubModel: ensureCachedModel,
});
