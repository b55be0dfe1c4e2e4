/**
 * The issue's case (large shape, 10 s of audio, converted float32 weights, default Node backend) per wasm thread
 * setting and code version: each measurement is one fresh Node process (load, then two predictions: the first
 * one also packs every weight matrix for XNNPACK, the second is the steady state), so its peak RSS
 * (`process.resourceUsage().maxRSS`) is that of a real one-shot run. Variants run interleaved, round by round,
 * so that a busy machine slows every variant alike; the table gives medians.
 *
 *   npx tsx bench/threads.ts                                  # after, threads 0/2; 3 rounds
 *   git archive <commit> src | tar -x -C .scratch/before      # an earlier version as "before"
 *   npx tsx bench/threads.ts --before .scratch/before/src --threads 0,2 --rounds 3 --write bench/RESULTS.md
 *   npx tsx bench/threads.ts --ops --threads 0,1,2 --rounds 3   # the large shape's products alone
 *   npx tsx bench/threads.ts --threads 2 --idle 4000          # an app that waits 4 s after the load (background
 * packing)
 *
 * `--threads` takes EMOTION2VEC_WASM_THREADS values: 0 is tfjs' single-threaded build, n the threaded build with
 * n threads, `default` leaves the variable unset. The converted folder is written once into
 * .bench-cache/threads/<model>.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { convertedModel } from './converted-cache.js';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'large' },
    seconds: { type: 'string', default: '10' },
    // Milliseconds the process idles between the load and the first prediction (the weights pack meanwhile).
    idle: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '0,2' },
    before: { type: 'string' },
    // Products only (no model): the transformer's 2-D products at the large shape, per thread setting.
    ops: { type: 'boolean', default: false },
    write: { type: 'string' },
    // Internal: one measured process.
    child: { type: 'string' },
    src: { type: 'string', default: 'src' },
  },
});

interface Measurement {
  readonly threads: number;
  readonly loadMs: number;
  readonly firstMs: number;
  readonly secondMs: number;
  readonly maxRssMiB: number;
}

/** The large model's product shapes for N = 500 frames (10 s): QKV, output projection, MLP in and out, one head. */
const PRODUCTS = [
  { name: 'qkv (500x1024)·(1024x3072)', m: 500, k: 1024, n: 3072 },
  { name: 'proj (500x1024)·(1024x1024)', m: 500, k: 1024, n: 1024 },
  { name: 'fc1 (500x1024)·(1024x4096)', m: 500, k: 1024, n: 4096 },
  { name: 'fc2 (500x4096)·(4096x1024)', m: 500, k: 4096, n: 1024 },
  { name: 'one head (500x64)·(64x500), fresh B', m: 500, k: 64, n: 500 },
] as const;

if (args.child === 'ops') await opsChild();
else if (args.child) await child(args.child);
else if (args.ops) await opsMain();
else await main();

/** Median ms of each product (fused with a bias, weights packed once as in Linear), 5 runs after a warm-up. */
async function opsChild(): Promise<void> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('../src/node.js');
  const { selectBackend } = await import('../src/backend/select.js');
  const { slice } = await import('../src/backend/kernels.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  const { randomArray } = await import('../test/support/fixtures.js');
  await selectBackend('wasm');
  const ms: number[] = [];
  for (const { m, k, n } of PRODUCTS) {
    const a = tf.tensor2d(randomArray(m * k, 1), [m, k]);
    const b = tf.tensor2d(randomArray(k * n, 2), [k, n]);
    const bias = tf.tensor1d(randomArray(n, 3));
    // The head's B is a fresh tensor every call (a slice of K^T), so XNNPACK packs it every call.
    const fresh = k === 64;
    const run = () => tf.tidy(() => tf.fused.matMul({ a, b: fresh ? slice(b, [0, 0], [k, n]) : b, bias }).dataSync());
    run();
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      run();
      times.push(performance.now() - start);
    }
    ms.push(times.sort((x, y) => x - y)[2]!);
    tf.dispose([a, b, bias]);
  }
  process.stdout.write(`${JSON.stringify({ threads: getThreadsCount(), ms })}\n`);
}

async function opsMain(): Promise<void> {
  const settings = args.threads.split(',');
  const results = new Map<string, { threads: number; ms: number[] }[]>();
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const setting of settings) {
      const env = { ...process.env, EMOTION2VEC_WASM_THREADS: setting };
      const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/threads.ts', '--child', 'ops'], {
        encoding: 'utf8',
        env,
      });
      const measurement = JSON.parse(output.trim().split('\n').pop()!) as { threads: number; ms: number[] };
      results.set(setting, [...(results.get(setting) ?? []), measurement]);
      console.log(`round ${round + 1} EMOTION2VEC_WASM_THREADS=${setting}: ${JSON.stringify(measurement)}`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const lines = [
    '',
    `\`npx tsx bench/threads.ts ${process.argv.slice(2).join(' ')}\` (${new Date().toISOString().slice(0, 16)}Z, ${args.rounds} rounds interleaved, one process per setting and round; ms: median of the rounds' medians of 5; GFLOP/s in brackets).`,
    '',
    `| product | ${settings.map((s) => `EMOTION2VEC_WASM_THREADS=${s} (pool ${results.get(s)![0]!.threads})`).join(' | ')} |`,
    `| --- | ${settings.map(() => '---:').join(' | ')} |`,
    ...PRODUCTS.map(({ name, m, k, n }, i) => {
      const cells = settings.map((s) => {
        const value = median(results.get(s)!.map((r) => r.ms[i]!));
        return `${value.toFixed(1)} (${((2 * m * k * n) / value / 1e6).toFixed(1)})`;
      });
      return `| ${name} | ${cells.join(' | ')} |`;
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}

async function child(folder: string): Promise<void> {
  const { Emotion2Vec } = (await import(resolve(args.src, 'node.js'))) as typeof import('../src/node.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  const { randomArray } = await import('../test/support/fixtures.js');
  const seconds = Number(args.seconds);
  const audio = randomArray(seconds * 16_000, seconds).map((v) => v * 0.1);
  let start = performance.now();
  const model = await Emotion2Vec.load(folder);
  const loadMs = performance.now() - start;
  if (Number(args.idle) > 0) await new Promise((resolve) => setTimeout(resolve, Number(args.idle)));
  start = performance.now();
  await model.predict(audio);
  const firstMs = performance.now() - start;
  start = performance.now();
  await model.predict(audio);
  const secondMs = performance.now() - start;
  const threads = getThreadsCount();
  model.dispose();
  const measurement: Measurement = {
    threads,
    loadMs,
    firstMs,
    secondMs,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

async function main(): Promise<void> {
  const folder = await convertedModel(args.model);
  const settings = args.threads.split(',');
  const versions = [...(args.before ? [{ label: 'before', src: args.before }] : []), { label: 'after', src: 'src' }];
  const results = new Map<string, Measurement[]>();
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const setting of settings) {
      for (const version of versions) {
        const env = { ...process.env };
        if (setting === 'default') delete env['EMOTION2VEC_WASM_THREADS'];
        else env['EMOTION2VEC_WASM_THREADS'] = setting;
        const output = execFileSync(
          process.execPath,
          [
            '--import',
            'tsx',
            'bench/threads.ts',
            '--child',
            folder,
            '--src',
            version.src,
            '--seconds',
            args.seconds,
            '--idle',
            args.idle,
          ],
          { encoding: 'utf8', env },
        );
        const measurement = JSON.parse(output.trim().split('\n').pop()!) as Measurement;
        const key = `${version.label}|${setting}`;
        results.set(key, [...(results.get(key) ?? []), measurement]);
        console.log(
          `round ${round + 1} ${version.label} EMOTION2VEC_WASM_THREADS=${setting}: ${JSON.stringify(measurement)}`,
        );
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const seconds = Number(args.seconds);
  const lines = [
    '',
    `${args.model} shape, ${seconds} s of audio, converted float32 folder, wasm; \`npx tsx bench/threads.ts ${process.argv.slice(2).join(' ')}\` ` +
      `(${new Date().toISOString().slice(0, 16)}Z, ${args.rounds} rounds interleaved, median; one process per run).`,
    '',
    ...(Number(args.idle) > 0
      ? [`The first prediction starts ${args.idle} ms after the load returned (the process idle meanwhile).`, '']
      : []),
    '| code | EMOTION2VEC_WASM_THREADS | pool threads | load (ms) | first predict (ms) | second predict (ms) | real-time factor (second) | peak RSS (MiB) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...[...results].map(([key, runs]) => {
      const [label, setting] = key.split('|') as [string, string];
      const second = median(runs.map((m) => m.secondMs));
      return `| ${label} | ${setting === 'default' ? '(unset)' : setting} | ${runs[0]!.threads} | ${median(runs.map((m) => m.loadMs)).toFixed(0)} | ${median(runs.map((m) => m.firstMs)).toFixed(0)} | ${second.toFixed(0)} | ${(second / 1000 / seconds).toFixed(2)} | ${median(runs.map((m) => m.maxRssMiB)).toFixed(0)} |`;
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}
