/**
 * The script of `serve`'s inference thread (src/server/inference-thread.ts): a thread starts with nothing
 * installed, so it installs the Node platform (ffmpeg for the formats no bundled decoder reads, Node's backends),
 * then serves predictions to the server on the main thread.
 */
import { installNodePlatform } from '../node-platform.js';
import { runInferenceThread } from '../server/inference-thread.js';

installNodePlatform();
await runInferenceThread();
