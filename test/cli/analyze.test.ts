import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeWav } from '../../src/audio/wav.js';
import { defaultOutputDir } from '../../src/cli/analyze.js';
import { decodeNpy } from '../../src/io/npy.js';
import { encodeFloatWav } from '../../src/audio/wav.js';
import { fixturePath, loadNpy, manifestInputs, maxAbsDiff } from '../support/fixtures.js';
import { expectValidRecord, expectValidResult } from '../support/result-schema.js';
import { runCli, startCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const audio = (name: string) => fixturePath('audio', name);
const expected = Object.fromEntries(manifestInputs('tiny').map((input) => [input.id, input]));
const TINY = ['--model', fixturePath('tiny'), '--backend', 'wasm'];
const jsonLines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
const topLabel = (record: { emotion: string; emotion_zh: string | null }) =>
  record.emotion === 'unknown' ? '<unk>' : `${record.emotion_zh}/${record.emotion}`;

describe('emotion2vec analyze', () => {
  it('--json prints one record per input, in order, with the reference scores; a bad input gets an error record and exit code 1', async () => {
    const notAudio = join(work, 'notes.wav');
    writeFileSync(notAudio, 'this is not audio');
    const inputs = [audio('chirp16k.wav'), join(work, 'missing.wav'), notAudio, audio('short720.wav')];
    const { code, stdout, stderr } = await runCli(['analyze', ...inputs, ...TINY, '--json', '--no-output']);
    expect(code, stderr).toBe(1);
    const lines = jsonLines(stdout);
    expect(lines.map((l) => l.input)).toEqual(inputs);
    lines.forEach((line, i) => expectValidRecord(line, `line ${i + 1}`));
    const [chirp, missing, garbage, short] = lines;
    expect(chirp.labels.map((l: { label: string }) => l.label)).toEqual(expected.chirp16k!.labels);
    expect(maxAbsDiff(Object.values(chirp.scores), expected.chirp16k!.scores)).toBeLessThan(1e-4);
    expect(topLabel(chirp)).toBe(expected.chirp16k!.top);
    expect(chirp).toMatchObject({
      key: 'chirp16k',
      granularity: 'utterance',
      frames: 74,
      model: fixturePath('tiny'),
      confidence: Math.max(...(Object.values(chirp.scores) as number[])),
    });
    expect(new Date(chirp.timestamp_iso).getTime()).toBeGreaterThan(Date.now() - 600_000);
    expect(stderr).toContain('4 input(s): 2 ok, 2 failed');
    // The quality report of the file itself: levels recomputed here from its samples.
    const samples = decodeWav(readFileSync(audio('chirp16k.wav'))).channels[0]!;
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    expect(chirp.quality).toMatchObject({
      durationSeconds: samples.length / 16000,
      sampleRate: 16000,
      peak: Math.max(...samples.map(Math.abs)),
    });
    expect(chirp.quality.rms).toBeCloseTo(rms, 6);
    expect(missing.error.code).toBe('AUDIO_FILE_NOT_FOUND');
    expect(garbage.error.code).toMatch(/^AUDIO_(DECODE|UNSUPPORTED_FORMAT)$/);
    expect(topLabel(short)).toBe(expected.short720!.top);
    expect(stderr).not.toMatch(/at .*node_modules/); // no stack traces
  });

  it('--output-dir holds a folder per input (result.json, processed_audio.wav, embedding.npy) and summary.csv', async () => {
    const out = join(work, 'run1');
    const { code, stderr } = await runCli([
      'analyze',
      audio('speech16k.wav'),
      audio('speech44k_stereo.wav'),
      ...TINY,
      '--output-dir',
      out,
      '--embedding',
      '--granularity',
      'frame',
    ]);
    expect(code, stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['speech16k', 'speech44k_stereo', 'summary.csv']);
    expect(readdirSync(join(out, 'speech16k')).sort()).toEqual([
      'embedding.npy',
      'frame_scores.csv',
      'frame_scores.json',
      'processed_audio.wav',
      'result.json',
    ]);
    const result = expectValidResult(JSON.parse(readFileSync(join(out, 'speech16k', 'result.json'), 'utf8')));
    expect(topLabel(result as never)).toBe(expected.speech16k!.top);
    expect(result.embedding).toEqual({ shape: [263, 64], granularity: 'frame', file: 'embedding.npy' });
    expect(result.files).toEqual(['embedding.npy', 'processed_audio.wav', 'frame_scores.json', 'frame_scores.csv']);
    const npy = decodeNpy(readFileSync(join(out, 'speech16k', 'embedding.npy')));
    expect(maxAbsDiff(npy.data, loadNpy('tiny', 'speech16k.frames').data)).toBeLessThan(1e-4);
    // processed_audio.wav is the 16 kHz mono signal upstream feeds the model (mixed and resampled for the 44.1 kHz
    // stereo file).
    const processed = decodeWav(readFileSync(join(out, 'speech44k_stereo', 'processed_audio.wav')));
    expect(processed.sampleRate).toBe(16000);
    expect(processed.channels).toHaveLength(1);
    expect(maxAbsDiff(processed.channels[0]!, loadNpy('tiny', 'speech44k_stereo.wave16k').data)).toBeLessThan(5e-5);
    const rows = parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => [r.folder, r.status])).toEqual([
      ['speech16k', 'ok'],
      ['speech44k_stereo', 'ok'],
    ]);
    expect(Number(rows[0]!.confidence)).toBeCloseTo(result.confidence as number, 6);
    expect(stderr).toContain(`2 input(s): 2 ok, 0 failed; results in ${out} (summary.csv)`);
  });

  it('takes folders (recursively), wav.scp and plain lists; hostile names stay inside the run folder and print escaped', async () => {
    const data = join(work, 'data');
    mkdirSync(join(data, 'sub', 'deeper'), { recursive: true });
    copyFileSync(audio('chirp16k.wav'), join(data, 'a.wav'));
    copyFileSync(audio('chirp16k.wav'), join(data, 'sub', 'deeper', 'A.WAV'));
    copyFileSync(audio('chirp16k.wav'), join(data, '...wav'));
    copyFileSync(audio('chirp16k.wav'), join(data, '..wav'));
    copyFileSync(audio('chirp16k.wav'), join(data, 'esc\u001b[2J\u001b]0;title\u0007.wav'));
    copyFileSync(audio('chirp16k.wav'), join(data, 'CON.wav'));
    writeFileSync(join(data, 'notes.md'), 'not audio, not picked up');
    const scp = join(work, 'wav.scp');
    writeFileSync(
      scp,
      `# comment\nutt1 ${audio('short720.wav')}\n../../evil ${audio('chirp16k.wav')}\n${'k'.repeat(300)} ${audio('chirp16k.wav')}\n`,
    );
    const list = join(work, 'files.lst');
    writeFileSync(list, `${audio('speech16k.wav')}\n\n${join(work, 'gone\u001b[31m.wav')}\n`);
    const out = join(work, 'run2');

    const { code, stdout, stderr } = await runCli(['analyze', data, scp, list, ...TINY, '--output-dir', out]);
    expect(code, stderr).toBe(1); // the missing file
    expect(stdout).toContain('gone\\u{1b}[31m.wav'); // its error message names it, escaped
    expect(stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(stdout).toContain('esc_[2J_]0;title_'); // the key is the safe folder name
    expect(stdout).toMatch(/^input\s+emotion\s+score\s+audio s\s+notes$/m);
    expect(stdout).toMatch(new RegExp(`^utt1\\s+${expected.short720!.top.replace(/[<>]/g, '.')}`, 'm'));
    expect(readdirSync(work).filter((name) => name.includes('evil'))).toEqual([]);
    const folders = readdirSync(out).sort();
    expect(folders).toHaveLength(11); // 10 result folders and summary.csv
    for (const folder of folders) {
      expect(folder).not.toMatch(/^\.|[\u0000-\u001f/\\]|^con$/i);
      expect(Buffer.byteLength(folder)).toBeLessThanOrEqual(120);
      if (folder !== 'summary.csv') expect(existsSync(join(out, folder, 'result.json'))).toBe(true);
    }
    expect(folders).toEqual(expect.arrayContaining(['a', 'A-2', 'utt1', '______evil', '_CON', 'speech16k']));
    const evil = JSON.parse(readFileSync(join(out, '______evil', 'result.json'), 'utf8'));
    expect(evil.key).toBe('../../evil'); // the wav.scp key itself, kept in the record
    expect(readdirSync(out)).not.toContain('..');
    expect(realpathSync(out)).toBe(join(realpathSync(work), 'run2'));
  });

  it('Ctrl-C stops after the inputs in progress, keeps what is done, and --resume finishes the rest', async () => {
    const inputs = Array.from({ length: 12 }, (_, i) => {
      const path = join(work, `clip${String(i).padStart(2, '0')}.wav`);
      copyFileSync(audio('chirp16k.wav'), path);
      return path;
    });
    const out = join(work, 'run3');
    const { child, result } = startCli([
      'analyze',
      ...inputs,
      ...TINY,
      '--output-dir',
      out,
      '--json',
      '--batch-size',
      '1',
    ]);
    child.stdout!.once('data', () => child.kill('SIGINT'));
    const stopped = await result;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('--resume');
    const done = jsonLines(stopped.stdout);
    expect(done.length).toBeGreaterThan(0);
    expect(done.length).toBeLessThan(12);
    const rows = parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.folder)).toEqual(done.map((r) => r.key));
    const finished = readdirSync(out).filter((name) => existsSync(join(out, name, 'result.json')));
    expect(finished.sort()).toEqual(done.map((r) => r.key).sort());

    const resumed = await runCli(['analyze', ...inputs, ...TINY, '--output-dir', out, '--json', '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`skipping ${done.length} input(s)`);
    expect(jsonLines(resumed.stdout).map((r) => r.key)).toEqual(
      inputs.slice(done.length).map((p) => p.slice(work.length + 1, -4)),
    );
    const all = parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(all.map((r) => r.folder)).toEqual(inputs.map((p) => p.slice(work.length + 1, -4)));
    // A result.json cut short (a kill mid-write without atomic writes) is redone, not trusted.
    writeFileSync(join(out, 'clip00', 'result.json'), '{"key": "clip00", "sco');
    const again = await runCli(['analyze', ...inputs, ...TINY, '--output-dir', out, '--json', '--resume']);
    expect(jsonLines(again.stdout).map((r) => r.key)).toEqual(['clip00']);
  });

  it('utterance embeddings are (D,) and inline in --json with --no-output', async () => {
    const { code, stdout } = await runCli([
      'analyze',
      audio('chirp16k.wav'),
      ...TINY,
      '--json',
      '--embedding',
      '--no-output',
    ]);
    expect(code).toBe(0);
    const line = expectValidResult(JSON.parse(stdout)) as { embedding: { shape: number[]; data: number[] } };
    expect(line.embedding.shape).toEqual([64]);
    expect(maxAbsDiff(line.embedding.data, loadNpy('tiny', 'chirp16k.utterance').data)).toBeLessThan(1e-4);
  });

  it('--compute int8 computes the encoder in int8 (scores within its drift of the reference); an unknown type exits 2', async () => {
    const input = audio('speech16k.wav');
    const { code, stdout, stderr } = await runCli([
      'analyze',
      input,
      ...TINY,
      '--compute',
      'int8',
      '--json',
      '--no-output',
    ]);
    expect(code, stderr).toBe(0);
    const [record] = jsonLines(stdout);
    const scores = Object.values(record.scores) as number[];
    expect(maxAbsDiff(scores, expected.speech16k!.scores)).toBeLessThan(0.02);
    expect(maxAbsDiff(scores, expected.speech16k!.scores)).toBeGreaterThan(1e-4);
    expect(topLabel(record)).toBe(expected.speech16k!.top);
    const bad = await runCli(['analyze', input, ...TINY, '--compute', 'int4', '--no-output']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--compute.*int4.*float32, int8/s);
  });

  it('usage errors exit 2 without a stack trace; --version prints the package version; the default run folder is dated', async () => {
    const noModel = await runCli(['analyze', audio('chirp16k.wav'), '--model', join(work, 'nope'), '--no-output']);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/MODEL_(NOT_FOUND|UNKNOWN)/);
    expect(noModel.stderr).not.toMatch(/\n\s+at /);
    const badFlag = await runCli(['analyze', audio('chirp16k.wav'), ...TINY, '--granularity', 'word']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/granularity/);
    const resumeWithoutDir = await runCli(['analyze', audio('chirp16k.wav'), ...TINY, '--resume']);
    expect(resumeWithoutDir.code).toBe(2);
    const emptyFolder = mkdtempSync(join(work, 'empty-'));
    expect((await runCli(['analyze', emptyFolder, ...TINY])).code).toBe(2);
    const version = await runCli(['--version']);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(fixturePath('..', '..', 'package.json'), 'utf8')).version,
    );
    expect(defaultOutputDir(new Date(2026, 0, 2, 3, 4, 5))).toBe('outputs/output_20260102_030405');
  });

  it('--strict turns quality warnings into an error for that input only; --trim-silence drops silent edges', async () => {
    const padded = join(work, 'padded.wav');
    const chirp = loadNpy('tiny', 'chirp16k.wave16k').data;
    const silence = new Float32Array(16000); // 1 s of digital silence on each side
    writeFileSync(padded, encodeFloatWav(Float32Array.from([...silence, ...chirp, ...silence]), 16000));

    const strict = await runCli([
      'analyze',
      audio('short720.wav'),
      audio('chirp16k.wav'),
      ...TINY,
      '--json',
      '--strict',
      '--no-output',
    ]);
    expect(strict.code).toBe(1);
    const [short, chirpLine] = jsonLines(strict.stdout);
    expect(short.error.code).toBe('AUDIO_QUALITY');
    expect(short.error.message).toMatch(/TOO_SHORT/);
    expect(topLabel(chirpLine)).toBe(expected.chirp16k!.top);

    const plain = JSON.parse((await runCli(['analyze', padded, ...TINY, '--json', '--no-output'])).stdout);
    const trimmed = JSON.parse(
      (await runCli(['analyze', padded, ...TINY, '--json', '--trim-silence', '--no-output'])).stdout,
    );
    expect(plain.frames).toBe(Math.floor((chirp.length + 32000 - 400) / 320) + 1);
    expect(plain.quality.leadingSilenceSeconds).toBeGreaterThan(0.8);
    expect(trimmed.frames).toBeLessThan(plain.frames - 80);
    expect(trimmed.frames).toBeGreaterThanOrEqual(expected.chirp16k!.frames[0] - 5);
  });
});
