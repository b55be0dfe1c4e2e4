/**
 * Load time and peak memory of a converted base-shaped model, per stored type (`convert --dtype`): each load runs
 * in its own Node process (peak RSS = process.resourceUsage().maxRSS of that process, so loads never share a
 * heap), rounds interleaved so that a busy machine slows every variant alike.
 *
 *   npx tsx bench/load.ts                                  # float32, float16, int8; 3 rounds
 *   npx tsx bench/load.ts --rounds 5 --write bench/RESULTS.md
 *   git archive <commit> src weights package.json | tar -x -C .scratch/before  # an earlier reader, as "before" (float32 only)
 *   npx tsx bench/load.ts --before .scratch/before/src
 *
 * The converted folders are written once into .bench-cache/load/<dtype> from the synthetic base weights.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    dtypes: { type: 'string', default: 'float32,float16,int8' },
    before: { type: 'string' },
    write: { type: 'string' },
    // Internal: one measured load, in this process.
    child: { type: 'string' },
    src: { type: 'string', default: 'src' },
  },
});

/** Shard bytes of each converted folder, filled in by convertedBase. */
const shardSizes = new Map<string, number>();

interface Measurement {
  readonly loadMs: number;
  readonly maxRssMiB: number;
}

if (args.child) {
  const { Emotion2Vec } = (await import(resolve(args.src, 'node.js'))) as typeof import('../src/node.js');
  const started = performance.now();
  const model = await Emotion2Vec.load(args.child);
  const loadMs = performance.now() - started;
  model.dispose();
  const measurement: Measurement = { loadMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const dtypes = args.dtypes.split(',') as ('float32' | 'float16' | 'int8')[];
  const folders = new Map<string, string>();
  for (const dtype of dtypes) folders.set(dtype, await convertedBase(dtype));
  // Before: the earlier reader only reads float32 folders.
  const variants = [
    ...(args.before ? [{ label: 'before', src: args.before, dtypes: dtypes.filter((d) => d === 'float32') }] : []),
    { label: 'after', src: 'src', dtypes },
  ];
  const results = new Map<string, Measurement[]>();
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const dtype of dtypes) {
      for (const variant of variants) {
        if (!variant.dtypes.includes(dtype)) continue;
        const output = execFileSync(process.execPath, ['--import', 'tsx', 'bench/load.ts', '--child', folders.get(dtype)!, '--src', variant.src], { encoding: 'utf8' });
        const measurement = JSON.parse(output.trim().split('\n').pop()!) as Measurement;
        const key = `${variant.label} ${dtype}`;
        results.set(key, [...(results.get(key) ?? []), measurement]);
        console.log(`round ${round + 1} ${key}: load ${measurement.loadMs.toFixed(0)} ms, peak RSS ${measurement.maxRssMiB.toFixed(0)} MiB`);
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const lines = [
    '',
    `### Loading a converted base-shaped model (${new Date().toISOString().slice(0, 16)}Z, bench/load.ts, ${args.rounds} rounds interleaved, median)`,
    '',
    '| reader | stored as | shard MiB | load (ms) | peak RSS (MiB) |',
    '|---|---|---:|---:|---:|',
    ...[...results].map(([key, ms]) => {
      const [label, dtype] = key.split(' ') as [string, 'float32' | 'float16' | 'int8'];
      return `| ${label} | ${dtype} | ${(shardBytesOf(dtype) / 2 ** 20).toFixed(0)} | ${median(ms.map((m) => m.loadMs)).toFixed(0)} | ${median(ms.map((m) => m.maxRssMiB)).toFixed(0)} |`;
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}

function shardBytesOf(dtype: string): number {
  return shardSizes.get(dtype) ?? NaN;
}

/** The base-shaped synthetic model converted as `dtype`, written once into .bench-cache/load/<dtype>. */
async function convertedBase(dtype: 'float32' | 'float16' | 'int8'): Promise<string> {
  const folder = join('.bench-cache', 'load', dtype);
  if (!existsSync(join(folder, 'model.json'))) {
    const { convertedFiles } = await import('../test/support/converted-files.js');
    mkdirSync(folder, { recursive: true });
    const files = await convertedFiles('base', dtype);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(folder, name), bytes);
  }
  shardSizes.set(dtype, readdirSync(folder).filter((name) => name.endsWith('.bin')).reduce((sum, name) => sum + statSync(join(folder, name)).size, 0));
  return folder;
}
