/**
 * Load time, the first predictions after `Emotion2Vec.load` and peak memory, per stored type, `compute` and
 * `ready` (LoadOptions): each variant runs in a fresh Node process (load, then three predictions of the same
 * audio), so its first prediction is a real first one and its peak RSS (`process.resourceUsage().maxRSS`) that of
 * a one-shot run. Variants run interleaved, round by round, so that a busy machine slows each alike; the table
 * gives medians, and the load average, since on a shared machine only numbers of one run compare.
 *
 *   npx tsx bench/first-prediction.ts                                   # large, 10 s: float32 and int8 defaults
 *   npx tsx bench/first-prediction.ts --model base --rounds 5
 *   npx tsx bench/first-prediction.ts --variants float32/float32/loaded,float32/float32/packed,int8/int8/packed
 *
 * A variant is `<folder dtype>/<compute>/<ready>`: the synthetic model converted as float32 or int8 (written once
 * into .bench-cache/threads/), loaded with that `compute` and `ready`. The wasm backend with tfjs' default threads
 * (EMOTION2VEC_WASM_THREADS unset: one per core) unless the environment says otherwise.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { convertedModel } from './converted-cache.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'large' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    variants: {
      type: 'string',
      default: 'float32/float32/loaded,float32/float32/packed,int8/float32/packed,int8/int8/packed,float32/int8/packed',
    },
    write: { type: 'string' },
    // Internal: one measured process.
    child: { type: 'string' },
  },
});

interface Measurement {
  readonly compute: string;
  readonly loadMs: number;
  readonly predictMs: number[];
  readonly heapMiB: number;
  readonly maxRssMiB: number;
}

if (args.child) await child(args.child);
else await main();

async function child(variant: string): Promise<void> {
  const [dtype, compute, ready] = variant.split('/') as ['float32' | 'int8', 'float32' | 'int8', string];
  const folder = await convertedModel(args.model, dtype);
  const tf = await import('@tensorflow/tfjs-core');
  const { Emotion2Vec } = await import('../src/node.js');
  const { randomArray } = await import('../test/support/fixtures.js');
  const seconds = Number(args.seconds);
  const audio = randomArray(seconds * 16_000, seconds).map((v) => v * 0.1);
  let start = performance.now();
  const model = await Emotion2Vec.load(folder, {
    backend: 'wasm',
    compute,
    ready: ready as 'loaded' | 'packed' | 'warm',
  });
  const loadMs = performance.now() - start;
  const predictMs: number[] = [];
  for (let i = 0; i < 3; i++) {
    start = performance.now();
    await model.predict(audio);
    predictMs.push(performance.now() - start);
  }
  const memory = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
  const measurement: Measurement = {
    compute: model.compute,
    loadMs,
    predictMs,
    heapMiB: memory.byteLength / 2 ** 20,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  model.dispose();
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

function load(): string {
  return loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
}

async function main(): Promise<void> {
  const variants = args.variants.split(',');
  for (const dtype of new Set(variants.map((v) => v.split('/')[0] as 'float32' | 'int8')))
    await convertedModel(args.model, dtype);
  const results = new Map<string, Measurement[]>();
  const loadBefore = load();
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const variant of variants) {
      const output = execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/first-prediction.ts',
          '--child',
          variant,
          '--model',
          args.model,
          '--seconds',
          args.seconds,
        ],
        { encoding: 'utf8', maxBuffer: 1 << 24 },
      );
      const measurement = JSON.parse(output.trim().split('\n').pop()!) as Measurement;
      results.set(variant, [...(results.get(variant) ?? []), measurement]);
      console.log(`round ${round + 1} ${variant} (load ${load()}): ${JSON.stringify(measurement)}`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const seconds = Number(args.seconds);
  const lines = [
    '',
    `${args.model} shape, ${seconds} s of audio, wasm; \`npx tsx bench/first-prediction.ts ${process.argv.slice(2).join(' ')}\` ` +
      `(${new Date().toISOString().slice(0, 16)}Z, ${args.rounds} rounds interleaved, median; one process per run; ` +
      `load average ${loadBefore} before, ${load()} after).`,
    '',
    '| folder | compute (got) | ready | load (ms) | 1st predict (ms) | 2nd (ms) | 3rd (ms) | 1st / 3rd | load + 1st (ms) | RTF (3rd) | wasm heap (MiB) | peak RSS (MiB) |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...[...results].map(([variant, runs]) => {
      const [dtype, compute, ready] = variant.split('/');
      const at = (i: number) => median(runs.map((m) => m.predictMs[i]!));
      const loadMs = median(runs.map((m) => m.loadMs));
      const firstPlusLoad = median(runs.map((m) => m.loadMs + m.predictMs[0]!));
      return (
        `| ${dtype} | ${compute} (${runs[0]!.compute}) | ${ready} | ${loadMs.toFixed(0)} | ${at(0).toFixed(0)} | ` +
        `${at(1).toFixed(0)} | ${at(2).toFixed(0)} | ${(at(0) / at(2)).toFixed(2)} | ${firstPlusLoad.toFixed(0)} | ` +
        `${(at(2) / 1000 / seconds).toFixed(2)} | ${median(runs.map((m) => m.heapMiB)).toFixed(0)} | ` +
        `${median(runs.map((m) => m.maxRssMiB)).toFixed(0)} |`
      );
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}
