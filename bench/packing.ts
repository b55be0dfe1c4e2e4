/**
 * Where the wasm heap goes for one model (default: the large shape, converted float32, 10 s of audio): its size
 * after the load, after every weight matrix was packed (one ParameterSet.packNext per step, timed), and after a
 * first and a second prediction, with the process's RSS at each point. The heap never shrinks, so its size
 * after packing says whether the packed copies reused the bytes the unpacked weights left (docs/performance.md,
 * "Weight matrices: one fused product, held once").
 *
 *   npx tsx bench/packing.ts                      # large
 *   npx tsx bench/packing.ts --model base --seconds 5
 *
 * Reads the model's internals (its parameter set, the wasm backend's heap): a measurement, not an API.
 */
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { Emotion2Vec } from '../src/node.js';
import { randomArray } from '../test/support/fixtures.js';
import { convertedModel } from './converted-cache.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'large' },
    seconds: { type: 'string', default: '10' },
  },
});

const MiB = 2 ** 20;
const rows: string[] = [];
function record(step: string, ms?: number): void {
  const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length / MiB;
  rows.push(
    `| ${step} | ${ms === undefined ? '' : ms.toFixed(0)} | ${heap.toFixed(0)} | ${(process.memoryUsage().rss / MiB).toFixed(0)} | ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} |`,
  );
}

const folder = await convertedModel(args.model);
let start = performance.now();
const model = await Emotion2Vec.load(folder, { backend: 'wasm' });
record('load', performance.now() - start);
const internals = model as unknown as { packing: { cancel(): void }; network: { params: { packNext(): boolean } } };
// Packed here, step by step, instead of in the background: the same order, timed.
internals.packing.cancel();
start = performance.now();
let steps = 1;
while (internals.network.params.packNext()) steps++;
record(`pack ${steps} weight matrices`, performance.now() - start);
const audio = randomArray(Number(args.seconds) * 16_000, 10).map((v) => v * 0.1);
for (const which of ['first', 'second']) {
  start = performance.now();
  await model.predict(audio);
  record(`${which} prediction (${args.seconds} s)`, performance.now() - start);
}
model.dispose();
console.log(
  [
    `${args.model} shape, converted float32, wasm (\`npx tsx bench/packing.ts ${process.argv.slice(2).join(' ')}\`, ${new Date().toISOString().slice(0, 16)}Z)`,
    '',
    '| step | ms | wasm heap after (MiB) | RSS after (MiB) | peak RSS so far (MiB) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
  ].join('\n'),
);
