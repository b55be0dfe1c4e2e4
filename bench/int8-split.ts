/**
 * Which split of the int8 products between threads is faster on the model: by rows (each thread quantizes its own
 * rows) or by columns (the rows quantized on one thread, the columns shared); src/backend/wasm/int8-linear.ts
 * uses the winner. One process, one int8 model, forward passes alternating between the splits.
 *
 *   npx tsx bench/int8-split.ts                        # large, 10 s, 5 rounds
 *   npx tsx bench/int8-split.ts --model base --rounds 7
 */
import { loadAverage } from './load-average.js';
import { parseArgs } from 'node:util';
import { useInt8Split, int8ComputeInfo } from '../src/backend/wasm/int8-linear.js';
import { installNodePlatform } from '../src/node-platform.js';
import { selectBackend } from '../src/backend/select.js';
import { randomArray } from '../test/support/fixtures.js';
import { convertedModel } from './converted-cache.js';
import { loadForStages, timeStages } from './stages.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'large' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '5' },
  },
});
installNodePlatform();
await selectBackend('wasm');
const model = await loadForStages(await convertedModel(args.model, 'int8'), 'int8');
const seconds = Number(args.seconds);
const samples = randomArray(seconds * 16_000, seconds).map((v) => v * 0.1);
const loadBefore = loadAverage();
const splits = ['rows', 'columns'] as const;
const times: Record<string, { mlp: number[]; attention: number[]; total: number[] }> = {};
timeStages(model, samples, true);
for (let round = 0; round < Number(args.rounds); round++) {
  for (const split of splits) {
    useInt8Split(split);
    const { stages, totalMs } = timeStages(model, samples, false);
    const sum = (suffix: string) =>
      [...stages].filter(([name]) => name.endsWith(suffix)).reduce((total, [, ms]) => total + ms, 0);
    const entry = (times[split] ??= { mlp: [], attention: [], total: [] });
    entry.mlp.push(sum('.mlp'));
    entry.attention.push(sum('.attention'));
    entry.total.push(totalMs);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const info = int8ComputeInfo()!;
console.log(
  `\n${args.model}, ${seconds} s, int8 (${info.variant}, ${info.threads} threads), median of ${args.rounds} alternating rounds; load average ${loadBefore} before, ${loadAverage()} after.\n`,
);
console.log('| split | MLPs (ms) | attention (ms) | forward pass (ms) |\n| --- | ---: | ---: | ---: |');
for (const split of splits) {
  const t = times[split]!;
  console.log(
    `| ${split} | ${median(t.mlp).toFixed(0)} | ${median(t.attention).toFixed(0)} | ${median(t.total).toFixed(0)} |`,
  );
}
model.network.params.dispose();
