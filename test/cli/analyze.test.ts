import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { decodeNpy } from '../../src/io/npy.js';
import { fixturePath, loadNpy, manifestInputs, maxAbsDiff } from '../support/fixtures.js';
import { outputFolders } from '../../src/cli/analyze.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const audio = (name: string) => fixturePath('audio', name);
const expected = Object.fromEntries(manifestInputs('tiny').map((input) => [input.id, input]));

describe('emotion2vec analyze', () => {
  it('--json prints one object per input, in order, with the reference scores; a bad input gets an error object and exit code 1', async () => {
    const notAudio = join(work, 'notes.wav');
    writeFileSync(notAudio, 'this is not audio');
    const inputs = [audio('chirp16k.wav'), join(work, 'missing.wav'), notAudio, audio('short720.wav')];
    const { code, stdout, stderr } = await runCli(['analyze', ...inputs, '--model', fixturePath('tiny'), '--json', '--backend', 'wasm']);
    expect(code, stderr).toBe(1);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => l.input)).toEqual(inputs);
    const [chirp, missing, garbage, short] = lines;
    expect(chirp.labels).toEqual(expected.chirp16k!.labels);
    expect(maxAbsDiff(chirp.scores, expected.chirp16k!.scores)).toBeLessThan(1e-4);
    expect(chirp.top).toEqual({ label: expected.chirp16k!.top, score: expect.any(Number) });
    expect(chirp.frames).toBe(74);
    // The quality report of the file itself: levels recomputed here from its samples.
    const samples = decodeWav(readFileSync(audio('chirp16k.wav'))).channels[0]!;
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    expect(chirp.quality).toMatchObject({ durationSeconds: samples.length / 16000, sampleRate: 16000, peak: Math.max(...samples.map(Math.abs)) });
    expect(chirp.quality.rms).toBeCloseTo(rms, 6);
    expect(chirp.quality.rmsDbfs).toBeCloseTo(20 * Math.log10(rms), 4);
    expect(Array.isArray(chirp.quality.warnings)).toBe(true);
    expect(missing.error.code).toBe('AUDIO_FILE_NOT_FOUND');
    expect(garbage.error.code).toMatch(/^AUDIO_(DECODE|UNSUPPORTED_FORMAT)$/);
    expect(garbage.error.message.length).toBeGreaterThan(10);
    expect(short.top.label).toBe(expected.short720!.top);
    expect(stderr).not.toMatch(/at .*node_modules/); // no stack traces
  });

  it('--output-dir writes <name>/result.json and a numpy-readable embedding.npy ((T, D) for frames)', async () => {
    const out = join(work, 'outputs');
    const { code, stderr } = await runCli(['analyze', audio('speech16k.wav'), audio('chirp16k.wav'), '--model', fixturePath('tiny'), '--output-dir', out, '--embedding', '--granularity', 'frame', '--backend', 'wasm']);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'speech16k', 'result.json'), 'utf8'));
    expect(result.top.label).toBe(expected.speech16k!.top);
    expect(result.embedding).toEqual({ shape: [263, 64], granularity: 'frame', file: 'embedding.npy' });
    const bytes = readFileSync(join(out, 'speech16k', 'embedding.npy'));
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    expect(bytes.toString('latin1', 10, 80)).toContain("'descr': '<f4', 'fortran_order': False, 'shape': (263, 64)");
    const npy = decodeNpy(bytes);
    expect(maxAbsDiff(npy.data, loadNpy('tiny', 'speech16k.frames').data)).toBeLessThan(1e-4);
    expect(existsSync(join(out, 'chirp16k', 'embedding.npy'))).toBe(true);
  });

  it('output folders never collide: repeated names get the first free -2, -3..., case-insensitively', () => {
    expect(outputFolders(['a.wav', 'x/a.wav', 'a-2.wav', 'y/A.flac', 'b.mp3', '.wav'])).toEqual(['a', 'a-2', 'a-2-2', 'A-3', 'b', '.wav']);
    expect(outputFolders(['x/a-2.wav', 'a.wav', 'y/a.wav'])).toEqual(['a-2', 'a', 'a-3']);
  });

  it('utterance embeddings are (D,) and inline in --json without --output-dir', async () => {
    const { code, stdout } = await runCli(['analyze', audio('chirp16k.wav'), '--model', fixturePath('tiny'), '--json', '--embedding', '--backend', 'cpu']);
    expect(code).toBe(0);
    const line = JSON.parse(stdout);
    expect(line.embedding.shape).toEqual([64]);
    expect(maxAbsDiff(line.embedding.data, loadNpy('tiny', 'chirp16k.utterance').data)).toBeLessThan(1e-4);
  });

  it('human-readable output by default; usage errors exit 2 without a stack trace', async () => {
    const plain = await runCli(['analyze', audio('chirp16k.wav'), '--model', fixturePath('tiny'), '--backend', 'wasm']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`chirp16k.wav: ${expected.chirp16k!.top}`);
    const noModel = await runCli(['analyze', audio('chirp16k.wav'), '--model', join(work, 'nope')]);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('MODEL_NOT_FOUND');
    expect(noModel.stderr).not.toMatch(/\n\s+at /);
    const badFlag = await runCli(['analyze', audio('chirp16k.wav'), '--model', fixturePath('tiny'), '--granularity', 'word']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/granularity/);
  });

  it('--strict turns quality warnings into an error for that input only; --trim-silence drops silent edges', async () => {
    const padded = join(work, 'padded.wav');
    const chirp = loadNpy('tiny', 'chirp16k.wave16k').data;
    const silence = new Float32Array(16000); // 1 s of digital silence on each side
    writeFileSync(padded, floatWav(Float32Array.from([...silence, ...chirp, ...silence]), 16000));

    const strict = await runCli(['analyze', audio('short720.wav'), audio('chirp16k.wav'), '--model', fixturePath('tiny'), '--json', '--strict', '--backend', 'wasm']);
    expect(strict.code).toBe(1);
    const [short, chirpLine] = strict.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(short.error.code).toBe('AUDIO_QUALITY');
    expect(short.error.message).toMatch(/TOO_SHORT/);
    expect(chirpLine.top.label).toBe(expected.chirp16k!.top);

    const plain = JSON.parse((await runCli(['analyze', padded, '--model', fixturePath('tiny'), '--json', '--backend', 'wasm'])).stdout);
    const trimmed = JSON.parse((await runCli(['analyze', padded, '--model', fixturePath('tiny'), '--json', '--trim-silence', '--backend', 'wasm'])).stdout);
    expect(plain.frames).toBe(Math.floor((chirp.length + 32000 - 400) / 320) + 1);
    expect(plain.quality.leadingSilenceSeconds).toBeGreaterThan(0.8);
    expect(trimmed.frames).toBeLessThan(plain.frames - 80);
    expect(trimmed.frames).toBeGreaterThanOrEqual(expected.chirp16k!.frames[0] - 5);
  });
});

/** A mono float32 WAV file (WAVE_FORMAT_IEEE_FLOAT). */
function floatWav(samples: Float32Array, sampleRate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.byteLength);
  const view = new DataView(bytes.buffer);
  const text = (offset: number, value: string) => [...value].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.byteLength, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 3, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 4, true);
  view.setUint16(32, 4, true);
  view.setUint16(34, 32, true);
  text(36, 'data');
  view.setUint32(40, samples.byteLength, true);
  samples.forEach((v, i) => view.setFloat32(44 + i * 4, v, true));
  return bytes;
}
