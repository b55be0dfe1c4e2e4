/**
 * `npm run bench`: load time, latency, real-time factor, batch throughput and memory of Emotion2Vec on the
 * backends this machine has, for the tiny fixture and the base- and large-shaped synthetic models (same sizes
 * and FLOPs as emotion2vec+ base and large; the weights are the fixtures' documented hash).
 *
 *   npm run bench                                   # every model on wasm, tiny on cpu too
 *   npm run bench -- --models base --backends wasm --runs 5
 *   npm run bench -- --durations 1,5 --batch 4      # shorter inputs, smaller batch (0 skips the batch test)
 *   npm run bench -- --write bench/RESULTS.md       # also append the markdown table there
 *   npm run bench -- --stages 0                     # skip the per-stage profile (default: on the longest input)
 */
import * as tf from '@tensorflow/tfjs-core';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Emotion2Vec, type BackendName } from '../src/node.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';
import { profileStages, stageTable, type StageTimes } from './stages.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,base,large' },
    backends: { type: 'string', default: 'wasm,cpu' },
    runs: { type: 'string', default: '3' },
    durations: { type: 'string', default: '1,5,20' },
    batch: { type: 'string', default: '8' },
    write: { type: 'string' },
    stages: { type: 'string', default: '1' },
  },
});

/** The plain-JS cpu backend runs a large matmul ~40x slower than wasm: only the tiny model is worth timing on it. */
const CPU_MODELS = new Set(['tiny']);
const SAMPLE_RATE = 16000;
const runs = Number(args.runs);
const durations = args.durations.split(',').map(Number);
const batchItems = Number(args.batch);

interface Row {
  model: string;
  backend: string;
  loadMs: number;
  latency: Record<string, number>;
  batchItemsPerSecond: number | null;
  singleItemsPerSecond: number | null;
  weightMiB: number;
  leaked: number;
  stages: StageTimes | null;
}

function source(name: FixtureCase): string | Record<string, Uint8Array> {
  if (name === 'tiny') return fixturePath('tiny');
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read(),
  }));
  return {
    'config.yaml': readFileSync(fixturePath(name, 'config.yaml')),
    'tokens.txt': readFileSync(fixturePath(name, 'tokens.txt')),
    'model.safetensors': writeSafetensors(tensors),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeIt(run: () => Promise<unknown>, times: number): Promise<number> {
  await run(); // warm-up: kernels compiled, buffers allocated
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return median(samples);
}

async function bench(name: FixtureCase, backend: BackendName): Promise<Row> {
  const files = source(name);
  const start = performance.now();
  const model = await Emotion2Vec.load(files, { backend });
  const loadMs = performance.now() - start;
  const weightMiB = tf.memory().numBytes / 2 ** 20;
  const before = tf.memory().numTensors;

  const latency: Record<string, number> = {};
  for (const seconds of durations) {
    const audio = randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1);
    latency[`${seconds}s`] = await timeIt(() => model.predict(audio), runs);
  }
  let batchItemsPerSecond: number | null = null;
  let singleItemsPerSecond: number | null = null;
  if (batchItems > 0) {
    const batch = Array.from({ length: batchItems }, (_, i) =>
      randomArray(5 * SAMPLE_RATE, 100 + i).map((v) => v * 0.1),
    );
    batchItemsPerSecond =
      (1000 * batchItems) /
      (await timeIt(() => model.predictBatch(batch, { batchSize: batchItems }), Math.max(1, runs - 1)));
    singleItemsPerSecond =
      (1000 * batchItems) / (await timeIt(() => model.predictBatch(batch, { batchSize: 1 }), Math.max(1, runs - 1)));
  }
  const leaked = tf.memory().numTensors - before;
  model.dispose();
  const longest = durations[durations.length - 1]!;
  const stages =
    args.stages === '0'
      ? null
      : await profileStages(
          files,
          randomArray(longest * SAMPLE_RATE, longest).map((v) => v * 0.1),
        );
  return {
    model: name,
    backend,
    loadMs,
    latency,
    batchItemsPerSecond,
    singleItemsPerSecond,
    weightMiB,
    leaked,
    stages,
  };
}

function table(rows: Row[]): string {
  const fixed = (value: number | null | undefined, digits: number) =>
    value === null || value === undefined ? '–' : value.toFixed(digits);
  const longest = durations[durations.length - 1]!;
  const header = [
    'model',
    'backend',
    'load (ms)',
    ...durations.map((d) => `${d} s audio (ms)`),
    `real-time factor (${longest} s)`,
    `${batchItems} × 5 s, batchSize ${batchItems} (items/s)`,
    'same, batchSize 1 (items/s)',
    'weights on backend (MiB)',
    'tensors leaked',
  ];
  const lines = rows.map((r) => [
    r.model,
    r.backend,
    fixed(r.loadMs, 0),
    ...durations.map((d) => fixed(r.latency[`${d}s`], 0)),
    fixed(r.latency[`${longest}s`]! / (longest * 1000), 3),
    fixed(r.batchItemsPerSecond, 2),
    fixed(r.singleItemsPerSecond, 2),
    fixed(r.weightMiB, 1),
    String(r.leaked),
  ]);
  return [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

async function main(): Promise<void> {
  tf.env().set('IS_TEST', true); // no "install tfjs-node" banner from the cpu backend
  const rows: Row[] = [];
  for (const backend of args.backends.split(',') as BackendName[]) {
    for (const name of args.models.split(',') as FixtureCase[]) {
      if (backend === 'cpu' && !CPU_MODELS.has(name)) continue;
      process.stderr.write(`bench ${name} on ${backend}...\n`);
      rows.push(await bench(name, backend));
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const report =
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; \`npm run bench -- ${process.argv.slice(2).join(' ')}\`; ` +
    `median of ${runs} run(s) after one warm-up; random audio (the model's cost does not depend on the content).\n\n${table(rows)}\n\n` +
    rows
      .filter((r) => r.stages)
      .map(
        (r) =>
          `Stages of one forward pass, ${r.model} on ${r.backend}, ${durations[durations.length - 1]} s of audio (each stage waited for):\n\n${stageTable(r.stages!)}\n\n`,
      )
      .join('');
  process.stdout.write(report);
  if (args.write) appendFileSync(args.write, report);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
