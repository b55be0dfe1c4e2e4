/**
 * The CNN front end and GELU before/after (issue 10): tfjs' multi-pass LayerNorm + GELU and GELU against the
 * fused wasm kernels of src/backend/wasm/gelu-kernels.ts, first as single ops at the model's shapes, then inside whole
 * forward passes of the base- and large-shaped models, per stage. "before" and "after" alternate in one process
 * (A, B, A, B, ...) so that a busy machine slows both alike; medians of --runs.
 *
 *   npx tsx bench/cnn.ts --cases base:5,large:10 --runs 3
 *   EMOTION2VEC_WASM_THREADS=0 npx tsx bench/cnn.ts ...    # tfjs' single-threaded wasm build
 *   npx tsx bench/cnn.ts --cases '' --ops 0 --convs 1        # the convolution rewrites tried and not kept
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import '../src/node.js';
import { selectBackend } from '../src/backend/select.js';
import { slice } from '../src/backend/kernels.js';
import { plainKernels } from '../src/backend/plain-kernels.js';
import { layerNorm, layerNormGelu } from '../src/layers/layer-norm.js';
import type { StageHook } from '../src/layers/stage.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { Emotion2VecNetwork } from '../src/model/network.js';
import { readModelContents } from '../src/model/sources.js';
import { normalizeWaveform } from '../src/model/waveform.js';
import { useWasmGeluKernels } from '../src/backend/wasm/gelu-kernels.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    cases: { type: 'string', default: 'base:5,large:10' },
    runs: { type: 'string', default: '3' },
    ops: { type: 'string', default: '1' },
    convs: { type: 'string', default: '0' },
  },
});
const runs = Number(args.runs);
const SAMPLE_RATE = 16000;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** Runs `run` with the fused kernels off (before) or on (after), restoring them on. */
function withKernels<T>(on: boolean, run: () => T): T {
  useWasmGeluKernels(on);
  try {
    return run();
  } finally {
    useWasmGeluKernels(true);
  }
}

function timeOp(run: () => tf.Tensor): number {
  const start = performance.now();
  tf.tidy(() => {
    const out = run();
    slice(out, Array(out.rank).fill(0), Array(out.rank).fill(1)).dataSync();
  });
  return performance.now() - start;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Single ops: LayerNorm + GELU at the first CNN layer's output, GELU at one MLP's hidden layer. */
function opRows(): string[] {
  const cases = [
    { label: 'LayerNorm + GELU, (15 999, 512): cnn0 at 5 s', shape: [15999, 512], norm: true },
    { label: 'LayerNorm + GELU, (31 999, 512): cnn0 at 10 s', shape: [31999, 512], norm: true },
    { label: 'GELU, (249, 3072): one base MLP at 5 s', shape: [249, 3072], norm: false },
    { label: 'GELU, (499, 4096): one large MLP at 10 s', shape: [499, 4096], norm: false },
  ];
  return cases.map(({ label, shape, norm }) => {
    const size = shape[0]! * shape[1]!;
    const x = tf.tensor2d(randomArray(size, 1), shape as [number, number]);
    const weight = tf.tensor1d(randomArray(shape[1]!, 2).map((v) => 1 + 0.2 * v));
    const bias = tf.tensor1d(randomArray(shape[1]!, 3).map((v) => 0.2 * v));
    const before = () => (norm ? plainKernels.gelu(layerNorm(x, 1e-5, weight, bias)) : plainKernels.gelu(x));
    const after = () =>
      norm ? layerNormGelu(x, 1e-5, weight, bias) : (tf.engine().runKernel('Emotion2VecGelu', { x }) as tf.Tensor);
    const diff = tf.tidy(() => maxAbsDiff(before(), after()));
    const times = { before: [] as number[], after: [] as number[] };
    timeOp(before);
    timeOp(after);
    for (let i = 0; i < runs; i++) {
      times.before.push(timeOp(before));
      times.after.push(timeOp(after));
    }
    tf.dispose([x, weight, bias]);
    const [b, a] = [median(times.before), median(times.after)];
    return `| ${label} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(b / a).toFixed(2)}x | ${diff.toExponential(1)} |`;
  });
}

/**
 * Convolutions as 2-D products, tried and not kept: the first layer (1 channel, k = 10, stride 5) as frames of
 * the waveform times a (10, C) matrix, the second (C -> C, k = 3, stride 2) as im2col (rows of three
 * consecutive frames, taken from pairs of frames) times a (3C, C) matrix; against tfjs' conv1d, at 5 s.
 */
function convRows(): string[] {
  const channels = 512;
  const frames0 = 15999;
  const frames1 = 7999;
  const wave = tf.tensor3d(randomArray(5 * SAMPLE_RATE, 1), [1, 5 * SAMPLE_RATE, 1]);
  const filter0 = tf.tensor3d(randomArray(10 * channels, 2), [10, 1, channels]);
  const x = tf.tensor3d(randomArray(frames0 * channels, 3), [1, frames0, channels]);
  const filter1 = tf.tensor3d(
    randomArray(3 * channels * channels, 4).map((v) => v * 0.05),
    [3, channels, channels],
  );
  const framed = () => {
    const pairs = tf.reshape(slice(wave, [0, 0, 0], [1, 5 * (frames0 + 1), 1]), [frames0 + 1, 5]);
    const windows = tf.concat(
      [slice(pairs, [0, 0], [frames0, 5]), slice(pairs, [1, 0], [frames0, 5])],
      1,
    ) as tf.Tensor2D;
    return tf.reshape(tf.matMul(windows, tf.reshape(filter0, [10, channels]) as tf.Tensor2D), [1, frames0, channels]);
  };
  const im2col = () => {
    const pairs = tf.reshape(slice(x, [0, 0, 0], [1, 2 * (frames1 + 1), channels]), [frames1 + 1, 2 * channels]);
    const rows = tf.concat(
      [slice(pairs, [0, 0], [frames1, 2 * channels]), slice(pairs, [1, 0], [frames1, channels])],
      1,
    ) as tf.Tensor2D;
    return tf.reshape(tf.matMul(rows, tf.reshape(filter1, [3 * channels, channels]) as tf.Tensor2D), [
      1,
      frames1,
      channels,
    ]);
  };
  const cases = [
    {
      label: 'cnn0: conv1d -> frames x (10, 512) matMul, 80 000 samples',
      before: () => tf.conv1d(wave, filter0, 5, 'valid'),
      after: framed,
    },
    {
      label: 'cnn1: conv1d -> im2col x (1536, 512) matMul, (15 999, 512)',
      before: () => tf.conv1d(x, filter1, 2, 'valid'),
      after: im2col,
    },
  ];
  const rows = cases.map(({ label, before, after }) => {
    const diff = tf.tidy(() => maxAbsDiff(before(), after()));
    const times = { before: [] as number[], after: [] as number[] };
    timeOp(before);
    timeOp(after);
    for (let i = 0; i < runs; i++) {
      times.before.push(timeOp(before));
      times.after.push(timeOp(after));
    }
    const [b, a] = [median(times.before), median(times.after)];
    return `| ${label} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(b / a).toFixed(2)}x | ${diff.toExponential(1)} |`;
  });
  tf.dispose([wave, filter0, x, filter1]);
  return rows;
}

function modelSource(name: FixtureCase): Record<string, Uint8Array> {
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

/** Stage groups reported: each CNN layer's conv and norm + GELU, the rest of the CNN, the MLPs. */
function groupOf(stage: string): string {
  if (/^cnn[01]\./.test(stage)) return stage;
  if (/^cnn\d+\./.test(stage)) return 'cnn2-6 (conv + norm_gelu)';
  if (/\.mlp$/.test(stage)) return 'MLPs (prenet + blocks)';
  return 'rest (attention, positional conv, norms, ...)';
}

interface Pass {
  stages: Map<string, number>;
  totalMs: number;
  frames: tf.Tensor;
}

async function modelRows(name: FixtureCase, seconds: number): Promise<string[]> {
  const contents = await readModelContents(modelSource(name));
  const network = new Emotion2VecNetwork(contents.definition);
  network.params.load(contents.weights.tensors);
  const samples = randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1);
  const input = contents.definition.config.normalize ? normalizeWaveform(samples) : samples;
  const pass = (): Pass => {
    const stages = new Map<string, number>();
    const hook: StageHook = (stage, run) => {
      const start = performance.now();
      const output = run();
      tf.tidy(() => slice(output, Array(output.rank).fill(0), Array(output.rank).fill(1)).dataSync());
      const group = groupOf(stage);
      stages.set(group, (stages.get(group) ?? 0) + performance.now() - start);
      return output;
    };
    const start = performance.now();
    const frames = tf.tidy(
      () => network.encoder.forward(tf.tensor2d(input, [1, input.length]), [input.length], false, hook).frames,
    );
    frames.dataSync();
    return { stages, totalMs: performance.now() - start, frames };
  };
  withKernels(false, pass).frames.dispose(); // warm-up of both
  withKernels(true, pass).frames.dispose();
  const passes = { before: [] as Pass[], after: [] as Pass[] };
  let diff = 0;
  for (let i = 0; i < runs; i++) {
    const before = withKernels(false, pass);
    const after = withKernels(true, pass);
    diff = Math.max(diff, maxAbsDiff(before.frames, after.frames));
    tf.dispose([before.frames, after.frames]);
    passes.before.push(before);
    passes.after.push(after);
  }
  network.params.dispose();
  const groups = [...passes.after[0]!.stages.keys()].filter((g) => g.startsWith('cnn') || g.startsWith('MLP'));
  const row = (label: string, pick: (p: Pass) => number) => {
    const [b, a] = [median(passes.before.map(pick)), median(passes.after.map(pick))];
    return `| ${name}, ${seconds} s | ${label} | ${b.toFixed(0)} | ${a.toFixed(0)} | ${(b / a).toFixed(2)}x |`;
  };
  const cnnTotal = (p: Pass) => [...p.stages].filter(([g]) => g.startsWith('cnn')).reduce((sum, [, ms]) => sum + ms, 0);
  return [
    ...groups.map((g) => row(g, (p) => p.stages.get(g) ?? 0)),
    row('**CNN total**', cnnTotal),
    row(`**forward pass** (frames max abs diff after vs before ${diff.toExponential(1)})`, (p) => p.totalMs),
  ];
}

async function main(): Promise<void> {
  await selectBackend('wasm');
  const threads = process.env.EMOTION2VEC_WASM_THREADS === '0' ? 'one thread' : 'threads';
  const out: string[] = [`wasm, ${threads}, median of ${runs} interleaved runs (before, after, before, ...)\n`];
  if (args.ops !== '0') {
    out.push(
      '| op | before: tfjs ops (ms) | after: fused kernel (ms) | speed-up | max abs diff |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...opRows(),
      '',
    );
  }
  if (args.convs !== '0') {
    out.push(
      '| convolution | before: conv1d (ms) | after: 2-D matMul (ms) | speed-up | max abs diff |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...convRows(),
      '',
    );
  }
  out.push('| model, audio | stage | before (ms) | after (ms) | speed-up |', '| --- | --- | ---: | ---: | ---: |');
  for (const spec of args.cases.split(',').filter(Boolean)) {
    const [name, seconds] = spec.split(':');
    out.push(...(await modelRows(name as FixtureCase, Number(seconds))));
    process.stderr.write(`${spec} done\n`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
