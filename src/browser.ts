/**
 * Browser entry point: the isomorphic library plus the browser's own audio decoder (Web Audio's
 * `decodeAudioData`) as the fallback for formats the bundled decoders do not read, GPU backends first (WebGPU and
 * WebGL are imported on first use: no import needed in the app), and the model in a Web Worker.
 *
 * Bundlers pick this file through the package's `browser` export condition.
 */
import { installBrowserPlatform } from './browser-platform.js';

export * from './index.js';
export { Emotion2VecWorker, WorkerSpeechStream, type WorkerLoadOptions } from './worker/worker-model.js';
export { serveModelInWorker, type WorkerScopeLike } from './worker/serve.js';

installBrowserPlatform();
