/**
 * The page's model worker (built by build.ts beside app.js as model-worker.js): the library's worker side, which
 * answers the page's `Emotion2VecWorker` (in-page-model.ts) with one model on its own tfjs and backend.
 */
import { serveModelInWorker } from '../browser.js';

serveModelInWorker();
