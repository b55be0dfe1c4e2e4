/**
 * Node's backend hooks (installed by src/node.ts): the native TensorFlow backend when the user installed
 * @tensorflow/tfjs-node(-gpu), the wasm files in node_modules, and tfjs' threaded wasm build with one thread
 * per core (src/backend/wasm/node-threads.ts; `EMOTION2VEC_WASM_THREADS`, read when wasm starts, sets it), and
 * worker_threads for the int8 products (src/backend/wasm/int8/int8-threads-node.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendHooks } from './select.js';
import { startWasmWithThreads } from './wasm/node-threads.js';
import { startNodeInt8Worker } from './wasm/int8/int8-threads-node.js';

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
      reasons.push(
        code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
          ? `${name} is not installed`
          : `${name} failed to load (${(error as Error).message.split('\n')[0]})`,
      );
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) return null;
    reasons.push(
      `${name} loaded but registered into another copy of @tensorflow/tfjs-core (install the same version as this package's)`,
    );
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

export const nodeBackendHooks: BackendHooks = {
  runtime: 'node',
  preferredBackends: ['tensorflow', 'wasm', 'cpu'],
  registerNativeBackend: () => (nativeBackend ??= registerNativeBackend()),
  defaultWasmPaths: wasmDirectory,
  startWasm: (start) => startWasmWithThreads(start, process.env.EMOTION2VEC_WASM_THREADS),
  startInt8Worker: startNodeInt8Worker,
};
