/**
 * The script of `serve`'s inference thread (src/server/inference-thread.ts): a thread starts with nothing
 * installed, so it installs the Node platform (ffmpeg for the formats no bundled decoder reads, Node's backends),
 * then serves the model to the server on the main thread, as a Web Worker serves a page (src/worker/serve.ts).
 */
import { parentPort } from 'node:worker_threads';
import { installNodePlatform } from '../node-platform.js';
import { serveModelInWorker, type WorkerScopeLike } from '../worker/serve.js';

installNodePlatform();
// Node's MessagePort is an EventTarget with postMessage(message, transfer): the scope serveModelInWorker answers on.
serveModelInWorker(parentPort as unknown as WorkerScopeLike);
