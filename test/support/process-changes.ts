/**
 * What importing the package and loading a model on wasm may change in a process, as docs/performance.md ("What
 * the wasm backend changes in the process") states it, in the shape test/support/process-changes.child.mjs
 * reports. Shared by test/backend/no-import-side-effects.test.ts (sources) and test/consumer/package.test.ts
 * (the built package).
 */

/** Nothing changed. */
export const UNCHANGED = {
  instantiate: 'same',
  worker: 'same',
  globalsAdded: [],
  globalsRemoved: [],
  threadsFlag: 'unset -> unset',
  wasmKernelsReplaced: [],
  wasmKernelsAdded: [],
  listenersAdded: { uncaughtException: 0, unhandledRejection: 0 },
};

/**
 * After a model was loaded on wasm with threads (Node's default): this project's kernels, under their own names;
 * the two process listeners of tfjs' emscripten glue (every wasm build adds them when it starts); the global
 * `Worker`, `WebAssembly.instantiate` and tfjs' threads flag as they were before the start.
 */
export const AFTER_THREADED_WASM_LOAD = {
  ...UNCHANGED,
  wasmKernelsAdded: [
    'Emotion2VecGelu',
    'Emotion2VecInt8Attention',
    'Emotion2VecInt8Linear',
    'Emotion2VecLayerNormGelu',
    'Emotion2VecSlice',
  ],
  listenersAdded: { uncaughtException: 1, unhandledRejection: 1 },
};

/** The same single-threaded (EMOTION2VEC_WASM_THREADS=0): tfjs evaluated its threads flag itself (false in Node). */
export const AFTER_SINGLE_THREADED_WASM_LOAD = { ...AFTER_THREADED_WASM_LOAD, threadsFlag: 'unset -> false' };

/** What the child prints. */
export interface ProcessChanges {
  readonly import: unknown;
  readonly load: unknown;
  /** getThreadsCount() of @tensorflow/tfjs-backend-wasm after the load. */
  readonly threads: number;
}
