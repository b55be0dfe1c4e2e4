/**
 * `npm run bench:kernels`: the formulations this project replaced, against the ones it uses now, at the model's
 * shapes, interleaved in one process (A, B, A, B, ...) so that a busy machine slows both alike.
 *
 *   npm run bench:kernels -- --shape large --backend wasm --runs 5
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import '../src/node.js';
import { selectBackend } from '../src/backend/select.js';
import { slice } from '../src/backend/kernels.js';
import { SelfAttention } from '../src/layers/attention.js';
import { GroupedConv1d } from '../src/layers/grouped-conv1d.js';
import { ParameterSet } from '../src/layers/parameters.js';
import type { StateDict } from '../src/model/state-dict.js';
import { randomArray } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    shape: { type: 'string', default: 'large' },
    backend: { type: 'string', default: 'wasm' },
    runs: { type: 'string', default: '5' },
    frames: { type: 'string', default: '500' },
  },
});

const SHAPES = {
  base: { dim: 768, heads: 12, groups: 16, kernel: 19 },
  large: { dim: 1024, heads: 16, groups: 16, kernel: 19 },
} as const;
const shape = SHAPES[args.shape as keyof typeof SHAPES];
const frames = Number(args.frames);

function weights(tensors: Record<string, number[]>): StateDict {
  let seed = 1;
  return new Map(
    Object.entries(tensors).map(([name, dims]) => {
      const data = randomArray(
        dims.reduce((a, b) => a * b, 1),
        seed++,
      ).map((v) => v * 0.05);
      return [name, { shape: dims, dtype: 'float32' as const, read: () => data }];
    }),
  );
}

/** The attention as first written: 4-D heads, a transposed-B batched product, then a batched product with V. */
function attentionBefore(
  x: tf.Tensor3D,
  w: { qkv: tf.Tensor2D; qkvBias: tf.Tensor; proj: tf.Tensor2D; projBias: tf.Tensor },
  bias: tf.Tensor,
  heads: number,
): tf.Tensor {
  const [batch, length, dim] = x.shape;
  const headDim = dim / heads;
  const linear = (t: tf.Tensor, weight: tf.Tensor2D, b: tf.Tensor) =>
    tf.add(tf.matMul(tf.reshape(t, [-1, t.shape[t.rank - 1]!]) as tf.Tensor2D, weight), b);
  const toHeads = (t: tf.Tensor) =>
    tf.transpose(tf.reshape(t, [batch, length, heads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
  const [q, k, v] = tf.split(tf.reshape(linear(x, w.qkv, w.qkvBias), [batch, length, 3 * dim]), 3, -1).map(toHeads) as [
    tf.Tensor4D,
    tf.Tensor4D,
    tf.Tensor4D,
  ];
  const scores = tf.add(tf.matMul(tf.mul(q, headDim ** -0.5), k, false, true), bias);
  const context = tf.matMul(tf.softmax(scores), v);
  return linear(tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [batch * length, dim]), w.proj, w.projBias);
}

/**
 * The grouped conv as first written: one batched (G, B*T, k*C/G) x (G, k*C/G, C/G) product. Its taps are cut by
 * `cut`: tf.slice (tfjs' own kernel), or the in-place slice the layers use.
 */
function groupedConvBefore(
  x: tf.Tensor3D,
  weight: tf.Tensor3D,
  bias: tf.Tensor,
  kernel: number,
  groups: number,
  cut: (t: tf.Tensor, begin: number[], size: number[]) => tf.Tensor = tf.slice,
): tf.Tensor {
  const [batch, time, channels] = x.shape;
  const groupIn = channels / groups;
  const pad = Math.floor(kernel / 2);
  const padded = tf.pad(x, [
    [0, 0],
    [pad, pad],
    [0, 0],
  ]);
  const taps = Array.from({ length: kernel }, (_, j) => cut(padded, [0, j, 0], [batch, time, channels]));
  const patches = tf.reshape(
    tf.transpose(tf.reshape(tf.stack(taps, 2), [batch, time, kernel, groups, groupIn]), [3, 0, 1, 2, 4]),
    [groups, batch * time, kernel * groupIn],
  ) as tf.Tensor3D;
  const perGroup = tf.matMul(patches, weight);
  return tf.add(
    tf.reshape(tf.transpose(tf.reshape(perGroup, [groups, batch, time, groupIn]), [1, 2, 0, 3]), [
      batch,
      time,
      channels,
    ]),
    bias,
  );
}

/** Reading one element waits for the kernels (GPU backends) without timing a copy of the whole output. */
export function waitFor(output: tf.Tensor): void {
  tf.tidy(() => slice(output, Array(output.rank).fill(0), Array(output.rank).fill(1)).dataSync());
}

function timeOnce(run: () => tf.Tensor): number {
  const start = performance.now();
  tf.tidy(() => waitFor(run()));
  return performance.now() - start;
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/**
 * Runs both, interleaved, after a warm-up of each; checks they agree. The "before" formulations call tf.slice,
 * which runs tfjs' own Slice kernel (the state before src/backend/wasm/slice-kernel.ts); the layers call the
 * kernel interface's in-place slice.
 */
function compare(label: string, runBefore: () => tf.Tensor, after: () => tf.Tensor): string {
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(runBefore(), after()))).dataSync()[0]!);
  const times = { before: [] as number[], after: [] as number[] };
  for (let i = 0; i < Number(args.runs); i++) {
    times.before.push(timeOnce(runBefore));
    times.after.push(timeOnce(after));
  }
  const [b, a] = [median(times.before), median(times.after)];
  return `| ${label} | ${b.toFixed(0)} | ${a.toFixed(0)} | ${(b / a).toFixed(2)}x | ${diff.toExponential(1)} |`;
}

async function main(): Promise<void> {
  tf.env().set('IS_TEST', true);
  await selectBackend(args.backend);
  const { dim, heads, groups, kernel } = shape;
  const rows: string[] = [];

  const attentionParams = new ParameterSet();
  const attention = new SelfAttention(attentionParams, 'attn', dim, heads);
  const attentionWeights = weights({
    'attn.qkv.weight': [3 * dim, dim],
    'attn.qkv.bias': [3 * dim],
    'attn.proj.weight': [dim, dim],
    'attn.proj.bias': [dim],
  });
  attentionParams.load(attentionWeights);
  const raw = (name: string) => tf.tensor(attentionWeights.get(name)!.read(), [...attentionWeights.get(name)!.shape]);
  const w = {
    qkv: tf.transpose(raw('attn.qkv.weight')) as tf.Tensor2D,
    qkvBias: raw('attn.qkv.bias'),
    proj: tf.transpose(raw('attn.proj.weight')) as tf.Tensor2D,
    projBias: raw('attn.proj.bias'),
  };
  const x = tf.tensor3d(randomArray(frames * dim, 7), [1, frames, dim]);
  const bias = tf.tensor3d(randomArray(heads * frames * frames, 8), [heads, frames, frames]);
  const qkvRows = tf.tensor2d(randomArray(frames * 3 * dim, 9), [frames, 3 * dim]);
  rows.push(
    compare(
      `wasm Slice: one head's columns of (${frames}, ${3 * dim}) (stock kernel vs in place)`,
      () => tf.slice(qkvRows, [0, dim], [frames, dim / heads]),
      () => slice(qkvRows, [0, dim], [frames, dim / heads]),
    ),
  );
  rows.push(
    compare(
      `attention, one block (N = ${frames}, D = ${dim}, ${heads} heads): 4-D batched products, stock Slice -> 2-D per head, in-place Slice`,
      () => attentionBefore(x, w, bias, heads),
      () => attention.apply(x, bias),
    ),
  );
  // attentionBefore never calls a Slice kernel (tf.split's wasm kernel copies by itself): the same as the row above.
  rows.push(
    compare(
      `same, in-place Slice on both sides (the per-head rewrite alone)`,
      () => attentionBefore(x, w, bias, heads),
      () => attention.apply(x, bias),
    ),
  );

  const convParams = new ParameterSet();
  const conv = new GroupedConv1d(convParams, 'conv', dim, dim, kernel, groups);
  const convWeights = weights({ 'conv.weight': [dim, dim / groups, kernel], 'conv.bias': [dim] });
  convParams.load(convWeights);
  const convWeightBefore = tf.tidy(() =>
    tf.reshape(
      tf.transpose(
        tf.reshape(tf.tensor(convWeights.get('conv.weight')!.read(), [dim, dim / groups, kernel]), [
          groups,
          dim / groups,
          dim / groups,
          kernel,
        ]),
        [0, 3, 2, 1],
      ),
      [groups, kernel * (dim / groups), dim / groups],
    ),
  ) as tf.Tensor3D;
  const convBias = tf.tensor(convWeights.get('conv.bias')!.read());
  rows.push(
    compare(
      `positional grouped conv, one layer (T = ${frames}, C = ${dim}, k = ${kernel}, G = ${groups}): batched product, stock Slice -> 2-D per group, in-place Slice`,
      () => groupedConvBefore(x, convWeightBefore, convBias, kernel, groups),
      () => conv.apply(x),
    ),
  );
  rows.push(
    compare(
      `same, in-place Slice on both sides (the per-group rewrite alone)`,
      () => groupedConvBefore(x, convWeightBefore, convBias, kernel, groups, slice),
      () => conv.apply(x),
    ),
  );

  process.stdout.write(
    `Kernels on ${tf.getBackend()}, ${args.shape} shape, median of ${args.runs} interleaved runs (before, after, before, ...):\n\n` +
      `| step | before (ms) | after (ms) | speed-up | max abs diff |\n| --- | ---: | ---: | ---: | ---: |\n${rows.join('\n')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
