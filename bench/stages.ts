/**
 * Per-stage timings of one forward pass: the encoder runs with a stage hook that waits for each stage's output
 * (one element read back) before stopping the clock, so every stage is charged its own kernels on any backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice } from '../src/backend/kernels.js';
import type { StageHook } from '../src/layers/stage.js';
import { Emotion2VecNetwork } from '../src/model/network.js';
import { readModelContents, type ModelSource } from '../src/model/sources.js';
import { normalizeWaveform } from '../src/model/waveform.js';

export interface StageTimes {
  /** Milliseconds per stage name, in first-run order (e.g. `block3.attention`). */
  readonly stages: Map<string, number>;
  /** Wall time of the whole forward pass with the hook in place (stages plus glue). */
  readonly totalMs: number;
}

/** Loads `source` on the current backend, runs one warm-up and one timed forward pass over `samples`. */
export async function profileStages(source: ModelSource, samples: Float32Array): Promise<StageTimes> {
  const contents = await readModelContents(source);
  const network = new Emotion2VecNetwork(contents.definition);
  network.params.load(contents.weights.tensors);
  const input = contents.definition.config.normalize ? normalizeWaveform(samples) : samples;
  try {
    const forward = (hook?: StageHook) =>
      tf.tidy(() => {
        const { frames } = network.encoder.forward(tf.tensor2d(input, [1, input.length]), [input.length], false, hook);
        return frames;
      });
    forward().dispose(); // warm-up: kernels compiled, buffers allocated
    const stages = new Map<string, number>();
    const hook: StageHook = (name, run) => {
      const start = performance.now();
      const output = run();
      // One element read back waits for the stage's kernels (GPU backends) without timing a full copy.
      tf.tidy(() => slice(output, Array(output.rank).fill(0), Array(output.rank).fill(1)).dataSync());
      stages.set(name, (stages.get(name) ?? 0) + performance.now() - start);
      return output;
    };
    const start = performance.now();
    const frames = forward(hook);
    frames.dataSync();
    const totalMs = performance.now() - start;
    frames.dispose();
    return { stages, totalMs };
  } finally {
    network.params.dispose();
  }
}

/** `block12.attention` -> `blocks.attention`: the same step of every block summed. */
function groupOf(stage: string): string {
  return stage.replace(/^block\d+\./, 'blocks.').replace(/^prenet\d+\./, 'prenet.');
}

/** A markdown table: each stage group's calls, total time and share of the forward pass. */
export function stageTable(times: StageTimes): string {
  const groups = new Map<string, { calls: number; ms: number }>();
  for (const [stage, ms] of times.stages) {
    const group = groups.get(groupOf(stage)) ?? { calls: 0, ms: 0 };
    groups.set(groupOf(stage), { calls: group.calls + 1, ms: group.ms + ms });
  }
  const staged = [...times.stages.values()].reduce((a, b) => a + b, 0);
  const rows = [...groups].map(([name, { calls, ms }]) => [
    name,
    String(calls),
    ms.toFixed(0),
    ((100 * ms) / times.totalMs).toFixed(1),
  ]);
  rows.push([
    '(glue: concat, slices, adds between stages)',
    '',
    (times.totalMs - staged).toFixed(0),
    ((100 * (times.totalMs - staged)) / times.totalMs).toFixed(1),
  ]);
  rows.push(['**forward pass**', '', times.totalMs.toFixed(0), '100']);
  const header = ['stage', 'calls', 'ms', '% of forward'];
  return [header, ['---', '---:', '---:', '---:'], ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
