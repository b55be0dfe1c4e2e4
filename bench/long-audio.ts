/**
 * Long recordings: time and peak memory of `predict` (whole-file result, windows of 10 s with 1 s overlap) and of
 * `model.stream()` (speech segments, chunks generated on the fly so no signal is held) over 1, 10 and 60 minutes.
 * Each run is its own child process, so its peak RSS (getrusage maxrss) is its own.
 *
 *   npx tsx bench/long-audio.ts --models tiny --minutes 1,10,60 --modes predict,stream
 *   npx tsx bench/long-audio.ts --models base --minutes 1,10 --modes predict --write bench/RESULTS.md
 *
 * The audio is test/fixtures/long/phrases.wav and speech16k.wav repeated (speech with pauses): the model's cost
 * does not depend on content, the segmenter's a little.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec, prepareAudio } from '../src/node.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { fixturePath, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny' },
    minutes: { type: 'string', default: '1,10,60' },
    modes: { type: 'string', default: 'predict' },
    write: { type: 'string' },
    child: { type: 'string' },
  },
});

const RATE = 16000;

interface Measurement {
  model: string;
  mode: string;
  minutes: number;
  seconds: number;
  peakRssMiB: number;
  signalMiB: number;
  segments: number;
  leaked: number;
}

function modelSource(name: FixtureCase): string | Record<string, Uint8Array> {
  if (name === 'tiny') return fixturePath('tiny');
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({ name: key, shape: [...entry.shape], data: entry.read() }));
  return { 'config.yaml': readFileSync(fixturePath(name, 'config.yaml')), 'tokens.txt': readFileSync(fixturePath(name, 'tokens.txt')), 'model.safetensors': writeSafetensors(tensors) };
}

async function tile(): Promise<Float32Array> {
  const a = (await prepareAudio(fixturePath('long', 'phrases.wav'))).waveform;
  const b = (await prepareAudio(fixturePath('audio', 'speech16k.wav'))).waveform;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** One measurement, in this (child) process. */
async function child(spec: string): Promise<Measurement> {
  const [model, mode, minutesText] = spec.split(':') as [FixtureCase, string, string];
  const minutes = Number(minutesText);
  const loaded = await Emotion2Vec.load(modelSource(model), { backend: 'wasm' });
  const unit = await tile();
  const total = Math.round(minutes * 60 * RATE);
  await loaded.predict(unit.subarray(0, RATE * 2)); // warm-up: kernels compiled
  const tensorsBefore = tf.memory().numTensors;
  let segments = 0;
  let signalMiB = 0;
  const start = performance.now();
  if (mode === 'predict') {
    const signal = new Float32Array(total);
    for (let i = 0; i < total; i += unit.length) signal.set(unit.subarray(0, Math.min(unit.length, total - i)), i);
    signalMiB = signal.byteLength / 2 ** 20;
    const result = await loaded.predict(signal);
    segments = result.segmented?.segments ?? 1;
  } else {
    const stream = loaded.stream({ onSegment: () => segments++ });
    const chunk = RATE / 2;
    for (let i = 0; i < total; i += chunk) {
      const from = i % unit.length;
      await stream.push(unit.slice(from, Math.min(unit.length, from + chunk, from + total - i)));
    }
    await stream.end();
  }
  const seconds = (performance.now() - start) / 1000;
  const leaked = tf.memory().numTensors - tensorsBefore;
  loaded.dispose();
  // ru_maxrss is in KiB on Linux.
  return { model, mode, minutes, seconds, peakRssMiB: process.resourceUsage().maxRSS / 1024, signalMiB, segments, leaked };
}

if (args.child) {
  process.stdout.write(`${JSON.stringify(await child(args.child))}\n`);
} else {
  const rows: Measurement[] = [];
  for (const model of args.models.split(',')) {
    for (const mode of args.modes.split(',')) {
      for (const minutes of args.minutes.split(',').map(Number)) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', `${model}:${mode}:${minutes}`], { encoding: 'utf8', maxBuffer: 1 << 20 });
        const row = JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
  const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, wasm; \`npx tsx bench/long-audio.ts --models ${args.models} --minutes ${args.minutes} --modes ${args.modes}\`; one run each, own process.`;
  const table = [
    '| model | mode | audio (min) | time (s) | real-time factor | s per audio minute | peak RSS (MiB) | of which the 16 kHz signal (MiB) | RSS − signal (MiB) | segments | tensors leaked |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) =>
      [r.model, r.mode, r.minutes, r.seconds.toFixed(1), (r.seconds / (r.minutes * 60)).toFixed(3), (r.seconds / r.minutes).toFixed(1), r.peakRssMiB.toFixed(0), r.signalMiB.toFixed(0), (r.peakRssMiB - r.signalMiB).toFixed(0), r.segments, r.leaked]
        .join(' | ')
        .replace(/^/, '| ')
        .replace(/$/, ' |'),
    ),
  ].join('\n');
  console.log(`\n${header}\n\n${table}\n`);
  if (args.write) appendFileSync(args.write, `\n${header}\n\n${table}\n`);
}
