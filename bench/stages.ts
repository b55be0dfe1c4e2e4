/**
 * Per-stage timings of one forward pass: the encoder runs with a stage hook that waits for each stage's output
 * (one element read back) before stopping the clock, so every stage is charged its own kernels on any backend.
 * With the stage's operation count (2 per multiply-add of its products), the table gives the GOP/s it achieved.
 *
 * Run alone, it compares float32 and int8 compute (LoadOptions.compute; int8 on the `--dtype int8` folder) on a
 * synthetic model, passes interleaved:
 *
 *   npx tsx bench/stages.ts                                   # large, 10 s, float32 and int8, 3 rounds
 *   npx tsx bench/stages.ts --model base --rounds 5 --write bench/RESULTS.md
 */
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync } from 'node:fs';
import { loadAverage } from './load-average.js';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { slice, startInt8Compute } from '../src/backend/kernels.js';
import type { StageHook } from '../src/layers/stage.js';
import { frameCount, positionalKernelSize, type Emotion2VecConfig } from '../src/model/config.js';
import { Emotion2VecNetwork } from '../src/model/network.js';
import { readModelContents, type ModelSource } from '../src/model/sources.js';
import { normalizeWaveform } from '../src/model/waveform.js';
import { withInt8Matrices } from '../src/model/weight-dtypes.js';

export interface StageTimes {
  /** Milliseconds per stage name, in first-run order (e.g. `block3.attention`). */
  readonly stages: Map<string, number>;
  /** Wall time of the whole forward pass with the hook in place (stages plus glue). */
  readonly totalMs: number;
  /** Operations of each stage's products (2 per multiply-add), by stage name, where counted. */
  readonly ops?: Map<string, number>;
}

/** A model loaded for profiling, as `Emotion2Vec.load` would load it with `compute`. */
export interface ProfiledModel {
  readonly network: Emotion2VecNetwork;
  readonly compute: 'float32' | 'int8';
}

/** Loads `source` on the current backend, every weight matrix in its backend form (int8: quantized at load). */
export async function loadForStages(
  source: ModelSource,
  compute: 'float32' | 'int8' = 'float32',
): Promise<ProfiledModel> {
  const contents = await readModelContents(source);
  if (compute === 'int8') {
    const reason = await startInt8Compute();
    if (reason !== null) throw new Error(`int8 compute unavailable: ${reason}`);
  }
  const network = new Emotion2VecNetwork(contents.definition);
  const tensors = compute === 'int8' ? withInt8Matrices(contents.weights.tensors) : contents.weights.tensors;
  network.params.load(tensors, { int8: compute === 'int8' });
  network.params.packAll();
  return { network, compute };
}

/** One forward pass over `samples`, each stage timed (after a warm-up pass when `warm`). */
export function timeStages({ network }: ProfiledModel, samples: Float32Array, warm = true): StageTimes {
  const config = network.definition.config;
  const input = config.normalize ? normalizeWaveform(samples) : samples;
  const forward = (hook?: StageHook) =>
    tf.tidy(() => {
      const { frames } = network.encoder.forward(tf.tensor2d(input, [1, input.length]), [input.length], false, hook);
      return frames;
    });
  if (warm) forward().dispose(); // kernels compiled, buffers allocated
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
  return { stages, totalMs, ops: stageOps(config, samples.length) };
}

/** Loads `source` on the current backend, runs one warm-up and one timed forward pass over `samples`. */
export async function profileStages(
  source: ModelSource,
  samples: Float32Array,
  compute: 'float32' | 'int8' = 'float32',
): Promise<StageTimes> {
  const model = await loadForStages(source, compute);
  try {
    return timeStages(model, samples);
  } finally {
    model.network.params.dispose();
  }
}

/**
 * Operations (2 per multiply-add) of each stage's products for one input of `samples` samples: the CNN's
 * convolutions, the projection, the positional convolution, and per block the attention (qkv, the per-head scores
 * and their weighted sum, the output projection) and the MLP. Norms, GELU, softmax and adds are not counted.
 */
export function stageOps(config: Emotion2VecConfig, samples: number): Map<string, number> {
  const ops = new Map<string, number>();
  let length = samples;
  let channels = 1;
  config.featureEncoder.forEach((layer, i) => {
    length = Math.floor((length - layer.kernel) / layer.stride) + 1;
    ops.set(`cnn${i}.conv`, 2 * length * channels * layer.kernel * layer.channels);
    channels = layer.channels;
  });
  const t = frameCount(config, samples);
  const d = config.embedDim;
  const n = t + config.numExtraTokens;
  const hidden = Math.trunc(d * config.mlpRatio);
  ops.set('projection', 2 * t * channels * d);
  ops.set(
    'positional_conv',
    config.convPosDepth * 2 * t * positionalKernelSize(config) * (d / config.convPosGroups) * d,
  );
  const attention = 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d;
  const mlp = 4 * n * d * hidden;
  for (let i = 0; i < config.prenetDepth; i++) {
    ops.set(`prenet${i}.attention`, attention);
    ops.set(`prenet${i}.mlp`, mlp);
  }
  for (let i = 0; i < config.depth; i++) {
    ops.set(`block${i}.attention`, attention);
    ops.set(`block${i}.mlp`, mlp);
  }
  return ops;
}

/** `block12.attention` -> `blocks.attention`: the same step of every block summed. */
function groupOf(stage: string): string {
  return stage.replace(/^block\d+\./, 'blocks.').replace(/^prenet\d+\./, 'prenet.');
}

/** A markdown table: each stage group's calls, total time, share of the forward pass and achieved GOP/s. */
export function stageTable(times: StageTimes): string {
  const groups = new Map<string, { calls: number; ms: number; ops: number }>();
  for (const [stage, ms] of times.stages) {
    const group = groups.get(groupOf(stage)) ?? { calls: 0, ms: 0, ops: 0 };
    const ops = times.ops?.get(stage) ?? 0;
    groups.set(groupOf(stage), { calls: group.calls + 1, ms: group.ms + ms, ops: group.ops + ops });
  }
  const staged = [...times.stages.values()].reduce((a, b) => a + b, 0);
  const totalOps = [...groups.values()].reduce((sum, g) => sum + g.ops, 0);
  const gops = (ops: number, ms: number) => (ops > 0 ? (ops / ms / 1e6).toFixed(1) : '');
  const rows = [...groups].map(([name, { calls, ms, ops }]) => [
    name,
    String(calls),
    ms.toFixed(0),
    ((100 * ms) / times.totalMs).toFixed(1),
    gops(ops, ms),
  ]);
  rows.push([
    '(glue: concat, slices, adds between stages)',
    '',
    (times.totalMs - staged).toFixed(0),
    ((100 * (times.totalMs - staged)) / times.totalMs).toFixed(1),
    '',
  ]);
  rows.push(['**forward pass**', '', times.totalMs.toFixed(0), '100', gops(totalOps, times.totalMs)]);
  const header = ['stage', 'calls', 'ms', '% of forward', 'GOP/s'];
  return [header, ['---', '---:', '---:', '---:', '---:'], ...rows]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

/** The round whose forward pass took the median time (one real pass, so its stages add up to its total). */
function medianRound(rounds: StageTimes[]): StageTimes {
  return [...rounds].sort((a, b) => a.totalMs - b.totalMs)[Math.floor((rounds.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      model: { type: 'string', default: 'large' },
      seconds: { type: 'string', default: '10' },
      compute: { type: 'string', default: 'float32,int8' },
      rounds: { type: 'string', default: '3' },
      write: { type: 'string' },
    },
  });
  const { convertedModel } = await import('./converted-cache.js');
  const { randomArray } = await import('../test/support/fixtures.js');
  const { selectBackend } = await import('../src/backend/select.js');
  const { installNodePlatform } = await import('../src/node-platform.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  const { int8ComputeInfo } = await import('../src/backend/wasm/int8-linear.js');
  installNodePlatform();
  await selectBackend('wasm');
  const seconds = Number(args.seconds);
  const samples = randomArray(seconds * 16_000, seconds).map((v) => v * 0.1);
  const loadBefore = loadAverage();
  const models: ProfiledModel[] = [];
  for (const compute of args.compute.split(',') as ('float32' | 'int8')[]) {
    // int8 on the folder converted with `--dtype int8`, as int8 users run it (its stored int8 weights are what the
    // positional convolution computes with; a float32 folder keeps that stage float32).
    const model = await loadForStages(await convertedModel(args.model, compute), compute);
    timeStages(model, samples, true); // warm-up
    models.push(model);
  }
  const rounds = new Map<string, StageTimes[]>();
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const model of models) {
      const times = timeStages(model, samples, false);
      rounds.set(model.compute, [...(rounds.get(model.compute) ?? []), times]);
      console.log(`round ${round + 1} ${model.compute}: ${times.totalMs.toFixed(0)} ms (load ${loadAverage()})`);
    }
  }
  const info = int8ComputeInfo();
  let text = `\n${args.model} shape, ${seconds} s of audio, one forward pass, wasm with ${getThreadsCount()} thread(s)${info ? ` (int8: ${info.variant} kernels, ${info.threads} thread(s))` : ''}; \`npx tsx bench/stages.ts ${process.argv.slice(2).join(' ')}\` (${new Date().toISOString().slice(0, 16)}Z, the median of ${args.rounds} interleaved rounds; load average ${loadBefore} before, ${loadAverage()} after). GOP/s: 2 per multiply-add of the stage's products. int8: the folder converted with --dtype int8.\n`;
  for (const [compute, times] of rounds) text += `\n${compute}:\n\n${stageTable(medianRound(times))}\n`;
  console.log(text);
  if (args.write) appendFileSync(args.write, text);
  for (const model of models) model.network.params.dispose();
}

// Run as a script, not when bench/run.ts imports it.
if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
