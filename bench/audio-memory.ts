/**
 * Peak memory of prepareAudio on one hour of audio: 16 kHz mono and 44.1 kHz stereo 16-bit WAV.
 *
 *   npx tsx bench/audio-memory.ts
 *
 * Each case runs in its own child process, so that the process's peak RSS (`resourceUsage().maxRSS`, which a
 * timer could not sample: decoding and resampling are synchronous) belongs to that case alone. The WAV bytes
 * are written straight into one buffer before the baseline is taken, so they are not counted as "extra".
 * Prints a markdown table; "copies" is the peak extra memory divided by one float32 copy of the audio at the
 * source rate (one channel).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SECONDS = Number(process.env.AUDIO_BENCH_SECONDS ?? 3600);
const CASES: Record<string, { sampleRate: number; channels: number }> = {
  '16k-mono': { sampleRate: 16000, channels: 1 },
  '44k-stereo': { sampleRate: 44100, channels: 2 },
};

interface Measurement {
  name: string;
  seconds: number;
  rawBytes: number;
  copyBytes: number;
  baselineRss: number;
  peakRss: number;
  retainedArrayBuffers: number;
  prepareMs: number;
  outputSamples: number;
}

/** A 16-bit PCM WAV of a quiet tone with a slow tremolo, written in place (no temporary arrays). */
function makeWav(sampleRate: number, channels: number, seconds: number): Uint8Array {
  const frames = sampleRate * seconds;
  const dataBytes = frames * channels * 2;
  const bytes = new Uint8Array(44 + dataBytes);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string): void => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, dataBytes, true);
  const samples = new Int16Array(bytes.buffer, 44, frames * channels);
  for (let i = 0; i < frames; i++) {
    const t = i / sampleRate;
    const value = 6000 * Math.sin(2 * Math.PI * 220 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 0.5 * t));
    for (let c = 0; c < channels; c++) samples[i * channels + c] = Math.round(value * (c === 0 ? 1 : 0.8));
  }
  return bytes;
}

async function child(name: string): Promise<void> {
  const spec = CASES[name]!;
  const { prepareAudio } = await import('../src/audio/prepare.js');
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');

  // Warm up the code paths on a short clip so JIT and module memory are in the baseline.
  await prepareAudio(makeWav(spec.sampleRate, spec.channels, 2));
  const bytes = makeWav(spec.sampleRate, spec.channels, SECONDS);
  gc();
  const baselineRss = process.memoryUsage().rss;

  const started = performance.now();
  const prepared = await prepareAudio(bytes);
  const prepareMs = performance.now() - started;

  const peakRss = process.resourceUsage().maxRSS * 1024;
  // Backing stores of dead ArrayBuffers are released by a sweeper after the collection: give it a moment.
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const retainedArrayBuffers = process.memoryUsage().arrayBuffers - bytes.byteLength;
  const result: Measurement = {
    name,
    seconds: SECONDS,
    rawBytes: bytes.byteLength,
    copyBytes: spec.sampleRate * SECONDS * 4,
    baselineRss,
    peakRss,
    retainedArrayBuffers,
    prepareMs,
    outputSamples: prepared.waveform.length,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function parent(): void {
  const self = fileURLToPath(import.meta.url);
  const rows: Measurement[] = [];
  for (const name of Object.keys(CASES)) {
    const run = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', self, '--child', name], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    });
    if (run.status !== 0) {
      process.stderr.write(run.stderr);
      throw new Error(`case ${name} failed (exit ${String(run.status)})`);
    }
    rows.push(JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Measurement);
  }
  const mb = (n: number): string => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(
    `\nprepareAudio on ${SECONDS / 60} min of 16-bit WAV (Node ${process.version}, ${process.platform}/${process.arch})\n`,
  );
  console.log('| audio | raw WAV bytes | float32, one copy | peak extra RSS | copies | kept after (output) | time |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const extra = r.peakRss - r.baselineRss;
    console.log(
      `| ${r.seconds / 60} min ${r.name} | ${mb(r.rawBytes)} | ${mb(r.copyBytes)} | ${mb(extra)} | ${(extra / r.copyBytes).toFixed(2)} | ${mb(r.retainedArrayBuffers)} (${r.outputSamples} samples) | ${(r.prepareMs / 1000).toFixed(1)} s |`,
    );
  }
}

const at = process.argv.indexOf('--child');
if (at >= 0) await child(process.argv[at + 1]!);
else parent();
