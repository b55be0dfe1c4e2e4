/**
 * An inference thread's script for tests: serve's own (src/cli/inference-worker.ts), except that a prediction of
 * exactly 13 bytes of audio ends the thread, as a crash in wasm would.
 */
import { parentPort } from 'node:worker_threads';

// serve's script first, so that its listener is there for the first message ('load').
await import('../../src/cli/inference-worker.js');
parentPort!.on('message', (message: { type?: string; audios?: unknown[] }) => {
  const audio = message.type === 'predict' ? message.audios?.[0] : undefined;
  if (audio instanceof Uint8Array && audio.length === 13) process.exit(7);
});
