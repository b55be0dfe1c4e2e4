/** Test set-up: the Node platform plus an explicitly chosen backend, so every test says what it runs on. */
import * as tf from '@tensorflow/tfjs-core';
import '../../src/node.js';
import { selectBackend } from '../../src/backend/select.js';

export type TestBackend = 'wasm' | 'cpu';

export async function useBackend(name: TestBackend): Promise<void> {
  // Silences tfjs' "install tfjs-node" banner for the cpu backend in test logs.
  tf.env().set('IS_TEST', true);
  await selectBackend(name);
}
