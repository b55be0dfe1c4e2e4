/**
 * Load time, the first predictions after `Emotion2Vec.load` and peak memory, per stored type, `compute` and
 * `ready` (LoadOptions): each variant runs in a fresh Node process (load, then three predictions of the same
 * audio), so its first prediction is a real first one and its peak RSS (`process.resourceUsage().maxRSS`) that of
 * a one-shot run. Variants run interleaved, round by round, so that a busy machine slows each alike; the table
 * gives medians, and the load average, since on a shared machine only numbers of one run compare. Below the table,
 * each variant loaded with the default `ready` is held to the goal: a first prediction at most 1.3x a later one.
 *
 *   npx tsx bench/first-prediction.ts                         # large, 10 s: every ready, float32 and int8, 3 rounds
 *   npx tsx bench/first-prediction.ts --model base --rounds 5
 *   npx tsx bench/first-prediction.ts --model base --seconds 2 --rounds 1            # a quick check that it runs
 *   npx tsx bench/first-prediction.ts --variants float32/float32/loaded,float32/float32/default,int8/int8/default
 *
 * A variant is `<folder dtype>/<compute>/<ready>`: the synthetic model converted as float32 or int8 (written once
 * into .bench-cache/threads/), loaded with that `compute` and `ready` (`loaded`, `packed`, `warm`, or `default`:
 * no `ready` given, what a caller gets). The wasm backend with tfjs' default threads (EMOTION2VEC_WASM_THREADS
 * unset: one per core) unless the environment says otherwise.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { loadAverage } from './load-average.js';
import { parseArgs } from 'node:util';
import { convertedModel } from './converted-cache.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'large' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    variants: {
      type: 'string',
      default: [
        'float32/float32/loaded',
        'float32/float32/default',
        'float32/float32/warm',
        'int8/int8/loaded',
        'int8/int8/default',
        'int8/int8/warm',
        'int8/float32/default',
        'float32/int8/default',
      ].join(','),
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

/** The goal for a model loaded with the default `ready`: its first prediction at most this many times a later one. */
const FIRST_PREDICTION_GOAL = 1.3;

/** `<folder dtype>/<compute>/<ready>`, checked before anything runs. */
const VARIANT = /^(float32|int8)\/(float32|int8)\/(loaded|packed|warm|default)$/;

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
    ...(ready === 'default' ? {} : { ready: ready as 'loaded' | 'packed' | 'warm' }),
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

async function main(): Promise<void> {
  const variants = args.variants.split(',');
  const wrong = variants.find((variant) => !VARIANT.test(variant));
  if (wrong !== undefined)
    throw new Error(
      `variant ${wrong}: expected <folder dtype>/<compute>/<ready>, dtype and compute float32 or int8, ready ` +
        'loaded, packed, warm or default (e.g. int8/int8/default)',
    );
  for (const dtype of new Set(variants.map((v) => v.split('/')[0] as 'float32' | 'int8')))
    await convertedModel(args.model, dtype);
  const results = new Map<string, Measurement[]>();
  const loadBefore = loadAverage();
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
      console.log(`round ${round + 1} ${variant} (load ${loadAverage()}): ${JSON.stringify(measurement)}`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const seconds = Number(args.seconds);
  const header = [
    'folder',
    'compute (got)',
    'ready',
    'load (ms)',
    '1st predict (ms)',
    '2nd (ms)',
    '3rd (ms)',
    '1st / 3rd',
    'load + 1st (ms)',
    'RTF (3rd)',
    'wasm heap (MiB)',
    'peak RSS (MiB)',
  ];
  const rows = [...results].map(([variant, runs]) => {
    const [dtype, compute, ready] = variant.split('/') as [string, string, string];
    const at = (i: number) => median(runs.map((m) => m.predictMs[i]!));
    return {
      variant: { dtype, compute, ready },
      ratio: at(0) / at(2),
      cells: [
        dtype,
        `${compute} (${runs[0]!.compute})`,
        ready,
        median(runs.map((m) => m.loadMs)).toFixed(0),
        at(0).toFixed(0),
        at(1).toFixed(0),
        at(2).toFixed(0),
        (at(0) / at(2)).toFixed(2),
        median(runs.map((m) => m.loadMs + m.predictMs[0]!)).toFixed(0),
        (at(2) / 1000 / seconds).toFixed(2),
        median(runs.map((m) => m.heapMiB)).toFixed(0),
        median(runs.map((m) => m.maxRssMiB)).toFixed(0),
      ],
    };
  });
  const goal = rows
    .filter((row) => row.variant.ready === 'default')
    .map(({ variant, ratio }) => {
      const verdict = ratio <= FIRST_PREDICTION_GOAL ? 'within' : 'OVER';
      return `- ${variant.dtype} folder, ${variant.compute} compute: 1st / 3rd = ${ratio.toFixed(2)}, ${verdict} the goal`;
    });
  const lines = [
    '',
    `${args.model} shape, ${seconds} s of audio, wasm; \`npx tsx bench/first-prediction.ts ${process.argv.slice(2).join(' ')}\` ` +
      `(${new Date().toISOString().slice(0, 16)}Z, ${args.rounds} rounds interleaved, median; one process per run; ` +
      `load average ${loadBefore} before, ${loadAverage()} after). ready \`default\`: none given.`,
    '',
    ...[header, header.map((_, i) => (i < 3 ? '---' : '---:')), ...rows.map((row) => row.cells)].map(
      (cells) => `| ${cells.join(' | ')} |`,
    ),
    '',
    ...(goal.length > 0
      ? [
          `Goal, with the default \`ready\`: the first prediction at most ${FIRST_PREDICTION_GOAL}x a later one.`,
          '',
          ...goal,
          '',
        ]
      : []),
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}
