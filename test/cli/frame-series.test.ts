/**
 * `analyze --granularity frame` as the WebUI's frame mode: the frame series in the folder (frame_scores.json and
 * .csv, the emotion curve with --plot) and inline with --no-output, with or without --embedding, equal to the
 * library's frame scores; and --processed-audio's three formats.
 */
import '../../src/node.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { Emotion2Vec } from '../../src/model/emotion2vec.js';
import { toFrameSeries } from '../../src/results/frame-series.js';
import { fixturePath, loadNpy, maxAbsDiff } from '../support/fixtures.js';
import { expectValidResult } from '../support/result-schema.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-cli-frames-'));
const TINY = ['--model', fixturePath('tiny'), '--backend', 'wasm'];
const SPEECH = fixturePath('audio', 'speech16k.wav');
let model: Emotion2Vec;

beforeAll(async () => {
  model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
});
afterAll(() => {
  model?.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('analyze --granularity frame', () => {
  it('writes the frame series without --embedding (JSON, CSV, and the emotion curve with --plot), equal to the library', async () => {
    const out = join(work, 'frames');
    const run = await runCli(['analyze', SPEECH, ...TINY, '--granularity', 'frame', '--plot', '--output-dir', out]);
    expect(run.code, run.stderr).toBe(0);
    const folder = join(out, 'speech16k');
    expect(readdirSync(folder).sort()).toEqual([
      'frame_scores.csv',
      'frame_scores.json',
      'frame_scores.svg',
      'processed_audio.wav',
      'result.json',
      'timeline.csv',
      'timeline.json',
      'timeline.svg',
    ]);
    const record = expectValidResult(JSON.parse(readFileSync(join(folder, 'result.json'), 'utf8')));
    expect(record).not.toHaveProperty('embedding');
    expect(record.frame_scores).toEqual({
      labels: Object.keys(record.scores as object),
      hop_seconds: 0.02,
      smoothing_seconds: 0.5,
      frames: 263,
      step: 1,
      rows: 263,
      file: 'frame_scores.json',
      csv: 'frame_scores.csv',
    });
    const series = JSON.parse(readFileSync(join(folder, 'frame_scores.json'), 'utf8'));
    const library = await model.predict(SPEECH, { frameScores: true });
    expect(series).toEqual(toFrameSeries(library.frameScores!));
    expect(series.raw).toHaveLength(263);
    expect(series.raw[0]).toHaveLength(9);
    const csv = readFileSync(join(folder, 'frame_scores.csv'), 'utf8').trimEnd().split('\n');
    expect(csv).toHaveLength(264);
    expect(csv[0]!.split(',')).toHaveLength(1 + 2 * 9);
    const svg = readFileSync(join(folder, 'frame_scores.svg'), 'utf8');
    expect(svg.match(/<path /g)).toHaveLength(9);
    expect(svg).toContain('speech16k.wav');
  });

  it('--no-output --json carries the series inline, the same numbers as the folder', async () => {
    const inline = await runCli(['analyze', SPEECH, ...TINY, '--granularity', 'frame', '--no-output', '--json']);
    expect(inline.code, inline.stderr).toBe(0);
    const record = expectValidResult(JSON.parse(inline.stdout));
    const library = await model.predict(SPEECH, { frameScores: true });
    expect(record.frame_scores).toEqual(toFrameSeries(library.frameScores!));
  });
});

describe('analyze --processed-audio', () => {
  it('writes 16-bit PCM by default, float32 on request (the model input exactly), and nothing with none', async () => {
    const runs = {
      pcm16: [] as string[],
      float32: ['--processed-audio', 'float32'],
      none: ['--processed-audio', 'none'],
      off: ['--no-processed-audio'],
    };
    const wave = loadNpy('tiny', 'speech16k.wave16k').data;
    for (const [name, flags] of Object.entries(runs)) {
      const out = join(work, `audio-${name}`);
      const run = await runCli(['analyze', SPEECH, ...TINY, '--output-dir', out, ...flags]);
      expect(run.code, run.stderr).toBe(0);
      const file = join(out, 'speech16k', 'processed_audio.wav');
      const record = expectValidResult(JSON.parse(readFileSync(join(out, 'speech16k', 'result.json'), 'utf8')));
      if (name === 'none' || name === 'off') {
        expect(existsSync(file), name).toBe(false);
        expect(record.files).toEqual([]);
        continue;
      }
      const bytes = readFileSync(file);
      const wav = decodeWav(new Uint8Array(bytes));
      expect(wav.info.bitsPerSample, name).toBe(name === 'pcm16' ? 16 : 32);
      expect(bytes.length).toBe(44 + wave.length * (name === 'pcm16' ? 2 : 4));
      expect(maxAbsDiff(wav.channels[0]!, wave)).toBeLessThanOrEqual(name === 'pcm16' ? 1 / 65536 + 1e-6 : 1e-6);
    }
  });
});
