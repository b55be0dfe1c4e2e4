/**
 * `npm run bench`: load time, latency, real-time factor, batch throughput and memory of Emotion2Vec on the
 * backends this machine has, for the tiny fixture and the base- and large-shaped synthetic models (same sizes
 * and FLOPs as emotion2vec+ base and large; the weights are the fixtures' documented hash).
 *
 *   npm run bench                                   # every model on wasm, tiny on cpu too
 *   npm run bench -- --models base --backends wasm --runs 5
 *   npm run bench -- --write bench/RESULTS.md       # also write the markdown table there
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Emotion2Vec, type BackendName } from '../src/node.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny,base,large' },
    backends: { type: 'string', default: 'wasm,cpu' },
    runs: { type: 'string', default: '3' },
    write: { type: 'string' },
  },
});

/** The plain-JS cpu backend runs a large matmul ~40x slower than wasm: only the tiny model is worth timing on it. */
const CPU_MODELS = new Set(['tiny']);
const SAMPLE_RATE = 16000;
const runs = Number(args.runs);

interface Row {
  model: string;
  backend: string;
  loadMs: number;
  latency: Record<string, number>;
  batchItemsPerSecond: number;
  singleItemsPerSecond: number;
  weightMiB: number;
  leaked: number;
}

function source(name: FixtureCase): string | Record<string, Uint8Array> {
  if (name === 'tiny') return fixturePath('tiny');
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({ name: key, shape: [...entry.shape], data: entry.read() }));
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
  for (const seconds of [1, 5, 20]) {
    const audio = randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1);
    latency[`${seconds}s`] = await timeIt(() => model.predict(audio), runs);
  }
  const batch = Array.from({ length: 8 }, (_, i) => randomArray(5 * SAMPLE_RATE, 100 + i).map((v) => v * 0.1));
  const batchMs = await timeIt(() => model.predictBatch(batch, { batchSize: 8 }), Math.max(1, runs - 1));
  const singleMs = await timeIt(() => model.predictBatch(batch, { batchSize: 1 }), Math.max(1, runs - 1));
  const leaked = tf.memory().numTensors - before;
  model.dispose();
  return { model: name, backend, loadMs, latency, batchItemsPerSecond: 8000 / batchMs, singleItemsPerSecond: 8000 / singleMs, weightMiB, leaked };
}

function table(rows: Row[]): string {
  const header =
    '| model | backend | load (ms) | 1 s audio (ms) | 5 s audio (ms) | 20 s audio (ms) | real-time factor (20 s) | batch of 8 × 5 s, batchSize 8 (items/s) | same, batchSize 1 (items/s) | weights on backend (MiB) | tensors leaked |\n' +
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.model} | ${r.backend} | ${r.loadMs.toFixed(0)} | ${r.latency['1s']!.toFixed(0)} | ${r.latency['5s']!.toFixed(0)} | ${r.latency['20s']!.toFixed(0)} | ` +
          `${(r.latency['20s']! / 20000).toFixed(3)} | ${r.batchItemsPerSecond.toFixed(2)} | ${r.singleItemsPerSecond.toFixed(2)} | ${r.weightMiB.toFixed(1)} | ${r.leaked} |`,
      )
      .join('\n')
  );
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
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; median of ${runs} runs after one warm-up; ` +
    `random audio (the model's cost does not depend on the content).\n\n${table(rows)}\n`;
  process.stdout.write(report);
  if (args.write) writeFileSync(args.write, report);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
