/**
 * Named stages of a forward pass, so a profiler (bench/) can time each one. Inference passes straight through:
 * the hook only has to run the stage and return its output.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Runs one named stage (`run`) and returns its output; a profiler may time it or wait for the result. */
export type StageHook = <T extends tf.Tensor>(name: string, run: () => T) => T;

/** The hook inference uses: no timing, no overhead. */
export const runStage: StageHook = (_name, run) => run();

/** The same hook with `prefix.` before every stage name (e.g. `block3.attention`). */
export function scopedStage(stage: StageHook, prefix: string): StageHook {
  if (stage === runStage) return runStage;
  return (name, run) => stage(`${prefix}.${name}`, run);
}
