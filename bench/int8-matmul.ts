/**
 * The int8 kernels (src/backend/wasm/int8) against tfjs-backend-wasm's float32 product (XNNPACK, `tf.fused.matMul`
 * with a bias, as `Linear` runs it) at the encoder's shapes: GOP/s of one product (activations quantized per row,
 * then the integer product; float: the fused product), median of interleaved runs.
 *
 *   npx tsx bench/int8-matmul.ts                        # large and base, 500 frames, tfjs threaded (2) and plain
 *   npx tsx bench/int8-matmul.ts --shapes large --runs 15 --frames 500 --tfjs 2,0
 *   npx tsx bench/int8-matmul.ts --shapes base --frames 50 --runs 1            # a quick check that it runs
 *
 * One child process per tfjs setting (`--tfjs 2`: tfjs' threaded build with 2 threads; `0`: its single-threaded
 * build; a process cannot hold both), each interleaving, shape by shape, tfjs, the int8 kernels on one thread
 * (SIMD128 and relaxed SIMD) and on two (src/backend/wasm/int8/int8-threads.ts, on a shared memory of their own:
 * split by columns with the quantization on one thread, or by rows with it shared).
 * Node 20 has relaxed SIMD behind `--experimental-wasm-relaxed-simd`, and only its optimizing compiler computes it
 * right (`relaxedSimdStatus`), so there every child runs with that flag and `--no-liftoff` (the same optimized code
 * for tfjs as after its tier-up). The table also gives the first product on a fresh module in a Node without
 * flags (V8's baseline code, before tier-up).
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  instantiateInt8Kernels,
  relaxedSimdStatus,
  type Int8Kernels,
  type Int8Variant,
} from '../src/backend/wasm/int8/int8-matmul.js';
import { createInt8ThreadPool, type Int8ThreadPool } from '../src/backend/wasm/int8/int8-threads.js';
import { startNodeInt8Worker } from '../src/backend/wasm/int8/int8-threads-node.js';
import { randomArray } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'large,base' },
    frames: { type: 'string', default: '500' },
    runs: { type: 'string', default: '9' },
    tfjs: { type: 'string', default: '2,0' },
    child: { type: 'boolean', default: false },
    'first-call': { type: 'boolean', default: false },
  },
});

/** (K, N) of the encoder's products: qkv, attention output, fc1, fc2. */
const SHAPES: Record<string, [string, number, number][]> = {
  large: [
    ['qkv', 1024, 3072],
    ['attn out', 1024, 1024],
    ['fc1', 1024, 4096],
    ['fc2', 4096, 1024],
  ],
  base: [
    ['qkv', 768, 2304],
    ['attn out', 768, 768],
    ['fc1', 768, 3072],
    ['fc2', 3072, 768],
  ],
};
const frames = Number(args.frames);
const runs = Number(args.runs);

interface ShapeResult {
  /** "large qkv" */
  label: string;
  k: number;
  n: number;
  /** Per runner: median ms of one product. */
  medians: Record<string, number>;
  /** Median ms of quantizing the rows alone (SIMD128). */
  quantize: number;
}

interface ChildResult {
  tfjsThreads: number;
  relaxed: string;
  shapes: ShapeResult[];
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/**
 * One int8 product of the shape (quantization included) on `kernels` (one thread) or on `pool` split by columns
 * (quantization on this thread) or by rows (quantization shared), its buffers on the kernels' memory.
 */
function int8Runner(
  kernels: Int8Kernels,
  pool: Int8ThreadPool | null,
  split: 'columns' | 'rows',
  m: number,
  k: number,
  n: number,
  seed: number,
): { run: () => void; quantize: () => void } {
  let top = 1024;
  const allocate = (bytes: number) => {
    const address = top;
    top = Math.ceil((top + bytes) / 64) * 64;
    const missing = top - kernels.memory.buffer.byteLength;
    if (missing > 0) kernels.memory.grow(Math.ceil(missing / 65536));
    return address;
  };
  const put = (values: Float32Array | Int8Array) => {
    const address = allocate(values.byteLength);
    new Uint8Array(kernels.memory.buffer, address, values.byteLength).set(
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    );
    return address;
  };
  const x = put(randomArray(m * k, seed));
  const weights = put(Int8Array.from(randomArray(n * k, seed + 1), (v) => Math.round(v * 127)));
  const packed = allocate(kernels.packedBytes(k, n));
  kernels.packWeights(weights, put(new Float32Array(n).fill(0.01)), put(randomArray(n, seed + 2)), k, n, packed);
  const quantized = allocate(kernels.quantizedBytes(m, k));
  const out = allocate(4 * m * n);
  const quantize = () => kernels.quantizeRows(x, m, k, quantized);
  return {
    quantize,
    run: () => {
      if (pool && split === 'rows') return pool.product(x, quantized, packed, out, m, k, n);
      quantize();
      if (pool) pool.matmul(quantized, packed, out, m, k, n);
      else kernels.matmul(quantized, packed, out, m, k, n);
    },
  };
}

function memoryFor(shapes: [string, number, number][]): WebAssembly.Memory {
  // Room for the largest shape's buffers; each shape reuses the memory from the bottom.
  const bytes = Math.max(...shapes.map(([, k, n]) => frames * k * 6 + n * k * 2 + frames * n * 4 + 16 * n)) + (1 << 20);
  const pages = Math.ceil(bytes / 65536);
  return new WebAssembly.Memory({ initial: pages, maximum: pages + 256, shared: true });
}

async function child(): Promise<void> {
  // The package's own way to start wasm with n threads (0: tfjs' single-threaded build).
  const tfjsThreads = Number(args.tfjs);
  process.env.EMOTION2VEC_WASM_THREADS = String(tfjsThreads);
  const { installNodePlatform } = await import('../src/node-platform.js');
  const { selectBackend } = await import('../src/backend/select.js');
  installNodePlatform();
  await selectBackend('wasm');
  const shapes = args.shapes
    .split(',')
    .flatMap((name) => SHAPES[name]!.map(([label, k, n]) => [`${name} ${label}`, k, n] as [string, number, number]));
  const memory = memoryFor(shapes);
  const variants: Int8Variant[] = relaxedSimdStatus() === 'supported' ? ['simd128', 'relaxed'] : ['simd128'];
  const kernels = new Map<Int8Variant, Int8Kernels>();
  const pools = new Map<Int8Variant, Int8ThreadPool>();
  for (const variant of variants) {
    // One memory per variant: the two kernel sets' buffers would overlap on one.
    const own = variant === 'simd128' ? memory : memoryFor(shapes);
    kernels.set(variant, await instantiateInt8Kernels(own, variant));
    pools.set(variant, await createInt8ThreadPool(kernels.get(variant)!, 2, startNodeInt8Worker));
  }
  const result: ChildResult = { tfjsThreads, relaxed: relaxedSimdStatus(), shapes: [] };
  let seed = 1;
  for (const [label, k, n] of shapes) {
    const m = frames;
    const a = tf.tensor2d(randomArray(m * k, seed++), [m, k]);
    const b = tf.tensor2d(randomArray(k * n, seed++), [k, n]);
    const bias = tf.tensor1d(randomArray(n, seed++));
    const runners: Record<string, () => void> = {
      [`tfjs f32 (${tfjsThreads || 1} thread${tfjsThreads > 1 ? 's' : ''})`]: () =>
        tf.fused.matMul({ a, b, bias }).dispose(),
    };
    let quantizeSimd128 = () => {};
    for (const variant of variants) {
      const one = int8Runner(kernels.get(variant)!, null, 'columns', m, k, n, seed);
      if (variant === 'simd128') quantizeSimd128 = one.quantize;
      runners[`int8 ${variant}, 1 thread`] = one.run;
      const pool = pools.get(variant)!;
      for (const split of ['columns', 'rows'] as const) {
        runners[`int8 ${variant}, ${pool.threads} threads (${split})`] = int8Runner(
          kernels.get(variant)!,
          pool,
          split,
          m,
          k,
          n,
          seed,
        ).run;
      }
    }
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(runners).map((name) => [name, []]));
    const quantizeTimes: number[] = [];
    for (const run of Object.values(runners)) (run(), run()); // warm-up (XNNPACK packs its weights on the first call)
    for (let i = 0; i < runs; i++) {
      for (const [name, run] of Object.entries(runners)) {
        const start = performance.now();
        run();
        times[name]!.push(performance.now() - start);
      }
      const start = performance.now();
      quantizeSimd128();
      quantizeTimes.push(performance.now() - start);
    }
    const medians = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)]));
    result.shapes.push({ label, k, n, medians, quantize: median(quantizeTimes) });
    tf.dispose([a, b, bias]);
  }
  for (const pool of pools.values()) await pool.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/**
 * The first products on a fresh SIMD128 module (V8's baseline code until it tiers up), large fc1: without and with
 * `warmUp` (then 50 ms for the optimizing compiler).
 */
async function firstCalls(): Promise<void> {
  const [, k, n] = SHAPES['large']![2]!;
  const times: Record<string, number[]> = {};
  for (const warm of [false, true]) {
    const memory = memoryFor([['fc1', k, n]]);
    const kernels = await instantiateInt8Kernels(memory, 'simd128');
    const { run } = int8Runner(kernels, null, 'columns', frames, k, n, 1);
    if (warm) {
      memory.grow(Math.ceil(kernels.warmUpBytes / 65536));
      kernels.warmUp(memory.buffer.byteLength - kernels.warmUpBytes);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ms: number[] = [];
    for (let i = 0; i < 4; i++) {
      const start = performance.now();
      run();
      ms.push(performance.now() - start);
    }
    times[warm ? 'after warmUp' : 'fresh'] = ms;
  }
  process.stdout.write(`${JSON.stringify(times)}\n`);
}

function main(): void {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const flags = nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd', '--no-liftoff'] : [];
  const self = new URL(import.meta.url).pathname;
  const load = () =>
    loadavg()
      .map((v) => v.toFixed(2))
      .join(', ');
  const loadBefore = load();
  const first = JSON.parse(
    execFileSync(process.execPath, ['--import', 'tsx', self, '--first-call', '--frames', String(frames)], {
      encoding: 'utf8',
    }).trim(),
  ) as Record<string, number[]>;
  const results = args.tfjs.split(',').map(
    (setting) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            ...flags,
            '--import',
            'tsx',
            self,
            '--child',
            '--tfjs',
            setting,
            '--shapes',
            args.shapes,
            '--frames',
            String(frames),
            '--runs',
            String(runs),
          ],
          { encoding: 'utf8', maxBuffer: 1 << 24 },
        )
          .trim()
          .split('\n')
          .pop()!,
      ) as ChildResult,
  );
  const loadAfter = load();
  let text = `int8 products vs tfjs float32 (XNNPACK), ${frames} frames, median of ${runs} interleaved runs; GOP/s = 2 M K N / time.\n`;
  text += `Node ${process.version}${flags.length ? ` (children with ${flags.join(' ')})` : ''}; relaxed SIMD: ${results[0]!.relaxed}; load average before ${loadBefore}, after ${loadAfter}.\n`;
  for (const result of results) {
    const names = Object.keys(result.shapes[0]!.medians);
    text += `\n| product (M = ${frames}, K, N) | ${names.join(' | ')} | best int8 / tfjs | quantize (ms) |\n| --- |${names.map(() => ' ---: |').join('')} ---: | ---: |\n`;
    for (const { label, k, n, medians, quantize } of result.shapes) {
      const gops = (ms: number) => (2 * frames * k * n) / ms / 1e6;
      const best = Math.min(...names.slice(1).map((name) => medians[name]!));
      text += `| ${label} (${k}, ${n}) | ${names.map((name) => gops(medians[name]!).toFixed(1)).join(' | ')} | ${(medians[names[0]!]! / best).toFixed(2)}x | ${quantize.toFixed(2)} |\n`;
    }
  }
  const firsts = Object.entries(first).map(([when, ms]) => `${when} ${ms.map((v) => v.toFixed(0)).join(', ')}`);
  text += `\nFirst products of a SIMD128 module, large fc1, Node without flags (ms): ${firsts.join('; ')}.\n`;
  process.stdout.write(text);
}

if (args.child) await child();
else if (args['first-call']) await firstCalls();
else main();
