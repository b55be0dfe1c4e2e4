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
 *
 * `--modes cli` runs the real CLI instead (`analyze <wav> --granularity frame --embedding --output-dir ...`) on a
 * WAV file of that length, reporting the CLI process's peak RSS; `--before <dir>` also runs the CLI of another
 * checkout (e.g. `git archive <commit> | tar -x -C <dir>` with node_modules linked), interleaved with this one:
 *
 *   npx tsx bench/long-audio.ts --models tiny --minutes 1,10 --modes cli --repeat 2 --before /tmp/e2v-before
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Emotion2Vec } from '../src/node.js';
import { encodeFloatWav } from '../src/audio/wav.js';
import { prepareAudio } from '../src/audio/prepare.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { fixturePath, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'tiny' },
    minutes: { type: 'string', default: '1,10,60' },
    modes: { type: 'string', default: 'predict' },
    write: { type: 'string' },
    child: { type: 'string' },
    before: { type: 'string' },
    repeat: { type: 'string', default: '1' },
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
  return {
    model,
    mode,
    minutes,
    seconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    signalMiB,
    segments,
    leaked,
  };
}

/** A WAV file of `minutes` of the tiled audio (32-bit float, 16 kHz, as processed_audio.wav is). */
async function writeLongWav(dir: string, minutes: number): Promise<string> {
  const unit = await tile();
  const total = Math.round(minutes * 60 * RATE);
  const signal = new Float32Array(total);
  for (let i = 0; i < total; i += unit.length) signal.set(unit.subarray(0, Math.min(unit.length, total - i)), i);
  const path = join(dir, `long-${minutes}min.wav`);
  writeFileSync(path, encodeFloatWav(signal, RATE));
  return path;
}

interface CliMeasurement {
  cli: string;
  minutes: number;
  seconds: number;
  peakRssMiB: number;
  frames: number;
}

/**
 * One `analyze --granularity frame --embedding` run of the CLI in `root`, in its own process; its peak RSS from
 * getrusage at exit.
 */
function runCli(root: string, label: string, wav: string, minutes: number, work: string): CliMeasurement {
  const rssFile = join(work, 'peak-rss.txt');
  const out = join(work, `out-${label}-${minutes}-${Date.now()}`);
  const reporter = fileURLToPath(new URL('./report-peak-rss.mjs', import.meta.url));
  const start = performance.now();
  execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      reporter,
      'src/cli/main.ts',
      'analyze',
      wav,
      '--model',
      fixturePath('tiny'),
      '--backend',
      'wasm',
      '--granularity',
      'frame',
      '--embedding',
      '--output-dir',
      out,
    ],
    { cwd: root, env: { ...process.env, PEAK_RSS_FILE: rssFile }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const seconds = (performance.now() - start) / 1000;
  const record = JSON.parse(readFileSync(join(out, 'long-' + minutes + 'min', 'result.json'), 'utf8')) as {
    frames: number;
  };
  rmSync(out, { recursive: true, force: true });
  // ru_maxrss is in KiB on Linux.
  return {
    cli: label,
    minutes,
    seconds,
    peakRssMiB: Number(readFileSync(rssFile, 'utf8')) / 1024,
    frames: record.frames,
  };
}

/** CLI runs, this checkout and `--before` interleaved (A B A B) per length. */
async function cliBench(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'e2v-bench-cli-'));
  const rows: CliMeasurement[] = [];
  try {
    const here = fileURLToPath(new URL('..', import.meta.url));
    const trees: [string, string][] = [
      ['this checkout', here],
      ...(args.before ? [['before', args.before] as [string, string]] : []),
    ];
    for (const minutes of args.minutes.split(',').map(Number)) {
      const wav = await writeLongWav(work, minutes);
      for (let r = 0; r < Number(args.repeat); r++) {
        for (const [label, root] of trees) {
          const row = runCli(root, label, wav, minutes, work);
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      }
      rmSync(wav);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const signalMiB = (minutes: number) => (minutes * 60 * RATE * 4) / 2 ** 20;
  const header = `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, wasm; \`npx tsx bench/long-audio.ts --minutes ${args.minutes} --modes cli --repeat ${args.repeat}${args.before ? ' --before <checkout>' : ''}\`; each run its own process, interleaved.`;
  const table = [
    '| CLI | audio (min) | frames (T) | time (s) | peak RSS (MiB) | 16 kHz signal (MiB) | RSS − signal (MiB) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.cli} | ${r.minutes} | ${r.frames} | ${r.seconds.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${signalMiB(r.minutes).toFixed(0)} | ${(r.peakRssMiB - signalMiB(r.minutes)).toFixed(0)} |`,
    ),
  ].join('\n');
  console.log(`\n${header}\n\n${table}\n`);
  if (args.write) appendFileSync(args.write, `\n${header}\n\n${table}\n`);
}

if (args.modes === 'cli') {
  await cliBench();
} else if (args.child) {
  process.stdout.write(`${JSON.stringify(await child(args.child))}\n`);
} else {
  const rows: Measurement[] = [];
  for (const model of args.models.split(',')) {
    for (const mode of args.modes.split(',')) {
      for (const minutes of args.minutes.split(',').map(Number)) {
        const out = execFileSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', `${model}:${mode}:${minutes}`],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
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
      [
        r.model,
        r.mode,
        r.minutes,
        r.seconds.toFixed(1),
        (r.seconds / (r.minutes * 60)).toFixed(3),
        (r.seconds / r.minutes).toFixed(1),
        r.peakRssMiB.toFixed(0),
        r.signalMiB.toFixed(0),
        (r.peakRssMiB - r.signalMiB).toFixed(0),
        r.segments,
        r.leaked,
      ]
        .join(' | ')
        .replace(/^/, '| ')
        .replace(/$/, ' |'),
    ),
  ].join('\n');
  console.log(`\n${header}\n\n${table}\n`);
  if (args.write) appendFileSync(args.write, `\n${header}\n\n${table}\n`);
}
