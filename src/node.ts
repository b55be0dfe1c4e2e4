/**
 * Node entry point: the isomorphic library plus what only Node has — file paths, ffmpeg as a last-resort
 * audio decoder, the native TensorFlow backend (@tensorflow/tfjs-node-gpu or tfjs-node, when installed) and
 * the wasm files in node_modules.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeWithFfmpeg } from './audio/ffmpeg.js';
import { ensureCachedModel } from './model/hub/node-cache.js';
import { installPlatform } from './platform.js';

export * from './index.js';
export { NpyFileWriter } from './io/npy-file.js';
export { cacheRoot, modelCacheFolders, ensureCachedModel, downloadModelFiles } from './model/hub/node-cache.js';
export { writeResultFolder, readCompleteResult, encodeFloatWav, RESULT_FILE, EMBEDDING_FILE, PROCESSED_AUDIO_FILE, type ResultFolderContents, type WrittenResultFolder } from './results/folder.js';
export { writeSummaryCsv, SUMMARY_FILE, type SummaryEntry } from './results/summary.js';

const require = createRequire(import.meta.url);

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

/**
 * The file's bytes as a plain Uint8Array without a second copy (a 1-hour WAV is 115 MB at 16 kHz). A Buffer is
 * already a Uint8Array, but its `slice` shares memory where Uint8Array's copies, so callers get a true one.
 */
async function readWholeFile(path: string): Promise<Uint8Array> {
  const buffer = await readFile(path);
  const ownsItsMemory = buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength;
  // Small files may sit in Node's shared pool: copy those few bytes rather than pin (or expose) the pool.
  return ownsItsMemory ? new Uint8Array(buffer.buffer, 0, buffer.byteLength) : new Uint8Array(buffer);
}

installPlatform({
  name: 'node',
  preferredBackends: ['tensorflow', 'wasm', 'cpu'],
  readFile: readWholeFile,
  isDirectory: async (path) => (await stat(path)).isDirectory(),
  listDirectory: (path) => readdir(path),
  decodeAudioFallback: decodeWithFfmpeg,
  registerNativeBackend: () => (nativeBackend ??= registerNativeBackend()),
  defaultWasmPaths: wasmDirectory,
  fetchHubModel: ensureCachedModel,
});
