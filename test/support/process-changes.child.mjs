/**
 * Run in a fresh process by test/backend/no-import-side-effects.test.ts (on the sources, through tsx) and by
 * test/consumer/package.test.ts (on the built package): what importing the package entry `argv[2]` changes in the
 * process, then what loading the model folder `argv[3]` on wasm and predicting `argv[4]` changes after that.
 * Prints one JSON line. Plain JavaScript, so that it runs as it is in a consumer project.
 *
 * The process first uses tfjs as an application would (tfjs-core with the wasm backend's package), so that the
 * package's import is measured against a process where tfjs' own wasm kernels are already registered.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

const LISTENED = ['uncaughtException', 'unhandledRejection'];
const THREADS_FLAG = 'WASM_HAS_MULTITHREAD_SUPPORT';

function snapshot() {
  return {
    instantiate: WebAssembly.instantiate,
    worker: Object.getOwnPropertyDescriptor(globalThis, 'Worker'),
    globals: Object.getOwnPropertyNames(globalThis),
    threadsFlag: THREADS_FLAG in tf.env().getFlags() ? tf.env().getFlags()[THREADS_FLAG] : 'unset',
    wasmKernels: new Map(tf.getKernelsForBackend('wasm').map((kernel) => [kernel.kernelName, kernel.kernelFunc])),
    listeners: LISTENED.map((event) => process.listenerCount(event)),
  };
}

function sameDescriptor(a, b) {
  if (a === undefined || b === undefined) return a === b;
  return a.value === b.value && a.get === b.get && a.set === b.set && a.configurable === b.configurable;
}

function changes(before, after) {
  return {
    instantiate: before.instantiate === after.instantiate ? 'same' : 'replaced',
    worker: sameDescriptor(before.worker, after.worker) ? 'same' : 'changed',
    globalsAdded: after.globals.filter((name) => !before.globals.includes(name)),
    globalsRemoved: before.globals.filter((name) => !after.globals.includes(name)),
    threadsFlag: `${before.threadsFlag} -> ${after.threadsFlag}`,
    wasmKernelsReplaced: [...before.wasmKernels]
      .filter(([name, func]) => after.wasmKernels.get(name) !== func)
      .map(([name]) => name),
    wasmKernelsAdded: [...after.wasmKernels.keys()].filter((name) => !before.wasmKernels.has(name)).sort(),
    listenersAdded: Object.fromEntries(LISTENED.map((event, i) => [event, after.listeners[i] - before.listeners[i]])),
  };
}

const [entry, modelFolder, audioFile] = process.argv.slice(2);
const beforeImport = snapshot();
const { Emotion2Vec } = await import(entry);
const afterImport = snapshot();
const model = await Emotion2Vec.load(modelFolder, { backend: 'wasm' });
await model.predict(audioFile);
model.dispose();
const afterLoad = snapshot();
console.log(
  JSON.stringify({
    import: changes(beforeImport, afterImport),
    load: changes(afterImport, afterLoad),
    threads: getThreadsCount(),
  }),
);
