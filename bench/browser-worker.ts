/** The worker module of `npm run bench:browser`: the model served from the browser entry, as an app does it. */
import { serveModelInWorker } from '../src/browser.js';

serveModelInWorker();
