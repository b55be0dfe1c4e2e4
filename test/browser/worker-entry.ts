/** The worker module of the worker tests, as an app writes it: the model served from the browser entry. */
import { serveModelInWorker } from '../../src/browser.js';

serveModelInWorker();
