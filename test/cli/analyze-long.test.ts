/**
 * `analyze --granularity frame --embedding` on a file longer than one pass: embedding.npy is streamed into the
 * result folder a window at a time, and its bytes equal the whole-array path's (`encodeNpy` of the stitched
 * (T, D) array `predict` returns); a short file in the same batch gets its own rows.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { encodeNpy } from '../../src/io/npy.js';
import { Emotion2Vec } from '../../src/node.js';
import { encodeFloatWav } from '../../src/audio/wav.js';
import { toFrameSeries } from '../../src/results/frame-series.js';
import { expectValidResult } from '../support/result-schema.js';
import { fixturePath } from '../support/fixtures.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-cli-long-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TINY = ['--model', fixturePath('tiny'), '--backend', 'wasm'];

/** 48 s of speech with pauses (phrases.wav four times): five 10 s windows past the 30 s full pass. */
function longWav(): string {
  const phrases = decodeWav(readFileSync(fixturePath('long', 'phrases.wav'))).channels[0]!;
  const samples = new Float32Array(phrases.length * 4);
  for (let i = 0; i < 4; i++) samples.set(phrases, i * phrases.length);
  const path = join(work, 'long.wav');
  writeFileSync(path, encodeFloatWav(samples, 16000));
  return path;
}

describe('emotion2vec analyze: frame embeddings of a long file', () => {
  it('streams embedding.npy window by window, byte-identical to the whole-array path, beside a short file in the same batch', async () => {
    const long = longWav();
    const short = fixturePath('audio', 'speech16k.wav');
    const out = join(work, 'run');
    // --batch-size 2: the long file runs window by window while the short one waits for its batch; each input's rows
    // must reach its own folder.
    const { code, stderr } = await runCli([
      'analyze',
      long,
      short,
      ...TINY,
      '--output-dir',
      out,
      '--embedding',
      '--granularity',
      'frame',
      '--batch-size',
      '2',
    ]);
    expect(code, stderr).toBe(0);
    expect(readdirSync(join(out, 'long')).sort()).toEqual([
      'embedding.npy',
      'frame_scores.csv',
      'frame_scores.json',
      'processed_audio.wav',
      'result.json',
    ]);

    const model = await Emotion2Vec.load(fixturePath('tiny'), { backend: 'wasm' });
    try {
      for (const [name, path] of [
        ['long', long],
        ['speech16k', short],
      ] as const) {
        const whole = await model.predict(path, { granularity: 'frame', embedding: true });
        const embedding = whole.embedding!;
        if (name === 'long') expect(whole.segmented?.segments).toBeGreaterThanOrEqual(4);
        const result = expectValidResult(JSON.parse(readFileSync(join(out, name, 'result.json'), 'utf8')));
        expect(result.embedding).toEqual({ shape: embedding.shape, granularity: 'frame', file: 'embedding.npy' });
        expect(result.frames).toBe(embedding.shape[0]);
        // The frame series of the whole file, stitched from its windows as the library stitches it.
        const series = JSON.parse(readFileSync(join(out, name, 'frame_scores.json'), 'utf8'));
        const scored = await model.predict(path, { frameScores: true });
        expect(series).toEqual(toFrameSeries(scored.frameScores!));
        expect(series.rows).toBe(embedding.shape[0]);
        const written = readFileSync(join(out, name, 'embedding.npy'));
        expect(Buffer.compare(written, Buffer.from(encodeNpy(embedding.data, embedding.shape))), name).toBe(0);
      }
    } finally {
      model.dispose();
    }
  });
});
