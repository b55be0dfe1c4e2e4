import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { decodeAudio } from '../../src/audio/decode.js';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';
import type { EmotionPrediction } from '../../src/model/emotion2vec.js';
import {
  EmbeddingStreams,
  MAX_OUTPUT_NAME_BYTES,
  printable,
  readCompleteResult,
  safeOutputName,
  uniqueOutputNames,
  writeResultFolder,
  writeSummaryCsv,
} from '../../src/results/folder.js';
import { toErrorRecord, toResultRecord } from '../../src/results/record.js';
import { AudioInputError } from '../../src/errors.js';
import { analyzeQuality } from '../../src/audio/quality.js';
import { expectValidResult } from '../support/result-schema.js';

const prediction: EmotionPrediction = {
  labels: ['生气/angry', '开心/happy', '<unk>'],
  scores: [0.1, 0.7, 0.2],
  top: { label: '开心/happy', name: 'happy', score: 0.7, index: 1 },
  frames: 49,
  durationSeconds: 1,
  // A real report of a quiet second: it warns TOO_QUIET.
  quality: analyzeQuality(
    new Float32Array(16_000).map((_, i) => 0.002 * Math.sin(i / 5)),
    16_000,
  ),
};

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'e2v-folder-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('safeOutputName', () => {
  const hostile = [
    '...wav',
    '..wav',
    '..',
    '.',
    '',
    'a/../../x',
    '../../etc/passwd',
    'a\\..\\b',
    'nul\u0000byte',
    'esc\u001b[31mred',
    'CON',
    'con.txt',
    'Lpt1',
    'trail. . ',
    ' lead',
    'x'.repeat(400),
    '語'.repeat(200),
    'bidi\u202egnp.exe',
  ];
  it.each(hostile)('makes %j one safe path segment, idempotently', (name) => {
    const safe = safeOutputName(name);
    expect(safe.length).toBeGreaterThan(0);
    expect(safe).not.toMatch(/[/\\\u0000-\u001f\u007f\u202e]/);
    expect(safe.startsWith('.')).toBe(false);
    expect(safe).not.toMatch(/[. ]$/);
    expect(safe).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i);
    expect(new TextEncoder().encode(safe).length).toBeLessThanOrEqual(MAX_OUTPUT_NAME_BYTES);
    expect(safeOutputName(safe)).toBe(safe);
  });

  it('keeps ordinary names, and keeps long names with a common start apart', () => {
    expect(safeOutputName('speech_01')).toBe('speech_01');
    expect(safeOutputName('开心 sample')).toBe('开心 sample');
    expect(safeOutputName(`${'a'.repeat(300)}1`)).not.toBe(safeOutputName(`${'a'.repeat(300)}2`));
  });

  it('hands out unique names ignoring case, never a reserved one', () => {
    expect(uniqueOutputNames(['a', 'A', 'a-2', '../a', 'summary.csv'], ['summary.csv'])).toEqual([
      'a',
      'A-2',
      'a-2-2',
      '___a',
      'summary.csv-2',
    ]);
  });

  it('prints terminal escapes as visible text', () => {
    expect(printable('x\u001b]0;pwned\u0007\r\u202e')).toBe('x\\u{1b}]0;pwned\\u{7}\\u{d}\\u{202e}');
  });
});

describe('writeResultFolder', () => {
  it('writes result.json last with the embedding, the processed audio and extra files', async () => {
    const waveform = new Float32Array(1600).map((_, i) => Math.sin(i / 10) * 0.5);
    const embedding = {
      data: new Float32Array([1, 2, 3, 4]),
      shape: [4] as [number],
      granularity: 'utterance' as const,
    };
    const record = toResultRecord(prediction, { input: 'a.wav', key: 'a', model: 'tiny', granularity: 'utterance' });
    const written = await writeResultFolder(root, 'a', {
      record,
      embedding,
      processedAudio: waveform,
      processedAudioFormat: 'float32',
      extraFiles: { 'timeline.csv': 't,x\n' },
    });
    expect(written.path).toBe(join(await (await import('node:fs/promises')).realpath(root), 'a'));
    expect((await readdir(written.path)).sort()).toEqual([
      'embedding.npy',
      'processed_audio.wav',
      'result.json',
      'timeline.csv',
    ]);
    const json = JSON.parse(await readFile(join(written.path, 'result.json'), 'utf8'));
    expect(json).toMatchObject({
      key: 'a',
      emotion: 'happy',
      emotion_zh: '开心',
      confidence: 0.7,
      embedding: { shape: [4], file: 'embedding.npy' },
    });
    expect(json.files).toEqual(['embedding.npy', 'processed_audio.wav', 'timeline.csv']);
    expect(Array.from(decodeNpy(await readFile(join(written.path, 'embedding.npy'))).data)).toEqual([1, 2, 3, 4]);
    const wav = await decodeAudio(new Uint8Array(await readFile(join(written.path, 'processed_audio.wav'))));
    expect(wav.sampleRate).toBe(16000);
    expect(Array.from(wav.channels[0]!)).toEqual(Array.from(waveform));
    expect(await readCompleteResult(root, 'a')).toMatchObject({ key: 'a' });
    expectValidResult(json, 'result.json');
  });

  it('writes processed_audio.wav as 16-bit PCM by default, within 1/65536 of the samples, clipped to full scale', async () => {
    const waveform = new Float32Array(1600).map((_, i) => Math.sin(i / 10) * 0.9);
    waveform[0] = 1.5;
    waveform[1] = -1.5;
    const record = toResultRecord(prediction, { input: 'a.wav', key: 'a', model: 'tiny', granularity: 'utterance' });
    const written = await writeResultFolder(root, 'a', { record, processedAudio: waveform });
    const bytes = await readFile(join(written.path, 'processed_audio.wav'));
    expect(bytes.length).toBe(44 + 1600 * 2);
    expect(bytes.readUInt16LE(20)).toBe(1); // WAVE_FORMAT_PCM
    expect(bytes.readUInt16LE(34)).toBe(16);
    const wav = await decodeAudio(new Uint8Array(bytes));
    expect(wav.sampleRate).toBe(16000);
    const read = wav.channels[0]!;
    expect([read[0], read[1]]).toEqual([32767 / 32768, -1]);
    let worst = 0;
    for (let i = 2; i < waveform.length; i++) worst = Math.max(worst, Math.abs(read[i]! - waveform[i]!));
    expect(worst).toBeLessThanOrEqual(1 / 65536);
  });

  it('a streamed embedding gives the same folder, byte for byte, as the whole array', async () => {
    const rows = 23;
    const dim = 5;
    const frames = new Float32Array(rows * dim).map((_, i) => Math.sin(i) * 3 + 1e-7 * i);
    const timestamp = new Date('2026-01-02T03:04:05Z');
    const record = toResultRecord(prediction, {
      input: 'a.wav',
      key: 'a',
      model: 'tiny',
      granularity: 'frame',
      timestamp,
    });
    const waveform = new Float32Array(800).map((_, i) => Math.cos(i / 7));
    const whole = await writeResultFolder(join(root, 'whole'), 'a', {
      record,
      embedding: { data: frames, shape: [rows, dim], granularity: 'frame' },
      processedAudio: waveform,
    });

    const streams = new EmbeddingStreams(join(root, 'streamed'), () => 'a');
    // Windows of uneven sizes, as the long-audio runner hands them.
    for (const [from, to] of [
      [0, 4],
      [4, 15],
      [15, 15],
      [15, 23],
    ] as const)
      await streams.sink(frames.subarray(from * dim, to * dim), [to - from, dim], 0);
    const streamed = await writeResultFolder(join(root, 'streamed'), 'a', {
      record,
      embedding: await streams.take(0),
      processedAudio: waveform,
    });
    await streams.discardRest();

    expect((await readdir(streamed.path)).sort()).toEqual(['embedding.npy', 'processed_audio.wav', 'result.json']);
    for (const file of ['embedding.npy', 'processed_audio.wav', 'result.json']) {
      expect(
        Buffer.compare(await readFile(join(streamed.path, file)), await readFile(join(whole.path, file))),
        file,
      ).toBe(0);
    }
    expect(
      Buffer.compare(await readFile(join(streamed.path, 'embedding.npy')), Buffer.from(encodeNpy(frames, [rows, dim]))),
    ).toBe(0);
    expect(streamed.record).toEqual(whole.record);
    expect(streamed.record.embedding).toEqual({ shape: [rows, dim], granularity: 'frame', file: 'embedding.npy' });
  });

  it('a streamed embedding of a failed input leaves nothing behind; one of another input goes to its own folder', async () => {
    const out = join(root, 'out');
    const keys = ['first', 'second'];
    const streams = new EmbeddingStreams(out, (i) => keys[i]!);
    await streams.sink(new Float32Array(6), [3, 2], 0);
    await streams.sink(new Float32Array(4), [2, 2], 1);
    expect((await readdir(join(out, 'first'))).filter((f) => f.endsWith('.tmp'))).toHaveLength(1);
    const record = toResultRecord(prediction, { input: 's.wav', key: 'second', model: 'tiny', granularity: 'frame' });
    const written = await writeResultFolder(out, 'second', { record, embedding: await streams.take(1) });
    expect(decodeNpy(await readFile(join(written.path, 'embedding.npy'))).shape).toEqual([2, 2]);
    await streams.discardRest(); // 'first' failed: its temp file and the folder made for it go
    expect((await readdir(out)).sort()).toEqual(['second']);
    expect((await readdir(join(out, 'second'))).sort()).toEqual(['embedding.npy', 'result.json']);
  });

  it('a streamed embedding is only published in its own folder', async () => {
    const streams = new EmbeddingStreams(join(root, 'out'), () => 'a');
    await streams.sink(new Float32Array(2), [1, 2], 0);
    const record = toResultRecord(prediction, { input: 'b', key: 'b', model: 'tiny', granularity: 'frame' });
    const stream = await streams.take(0);
    await expect(writeResultFolder(join(root, 'out'), 'b', { record, embedding: stream })).rejects.toMatchObject({
      code: 'OUTPUT_UNSAFE_PATH',
    });
    await stream!.discard();
    expect(await readdir(join(root, 'out'))).toEqual(['b']);
  });

  it.each(['..', '../escape', 'a/../../x.wav', '/abs/path', 'nul\u0000'])(
    'keeps the key %j inside the root',
    async (key) => {
      const record = toResultRecord(prediction, { input: key, key, model: 'tiny', granularity: 'utterance' });
      const written = await writeResultFolder(join(root, 'out'), key, { record });
      expect(written.path.startsWith(join(await (await import('node:fs/promises')).realpath(root), 'out') + '/')).toBe(
        true,
      );
      expect(await readdir(root)).toEqual(['out']);
    },
  );

  it('refuses a folder that is a symlink, and unsafe extra file names', async () => {
    const outside = join(root, 'outside');
    await mkdir(outside);
    await mkdir(join(root, 'out'));
    await symlink(outside, join(root, 'out', 'a'));
    const record = toResultRecord(prediction, { input: 'a', key: 'a', model: 'tiny', granularity: 'utterance' });
    await expect(writeResultFolder(join(root, 'out'), 'a', { record })).rejects.toMatchObject({
      code: 'OUTPUT_UNSAFE_PATH',
    });
    expect(await readdir(outside)).toEqual([]);
    await expect(
      writeResultFolder(join(root, 'out'), 'b', { record, extraFiles: { '../x': 'no' } }),
    ).rejects.toMatchObject({ code: 'OUTPUT_UNSAFE_PATH' });
    await expect(
      writeResultFolder(join(root, 'out'), 'b', { record, extraFiles: { 'result.json': 'no' } }),
    ).rejects.toMatchObject({ code: 'OUTPUT_UNSAFE_PATH' });
  });

  it('replaces a planted result.json symlink instead of writing through it', async () => {
    const target = join(root, 'target.txt');
    await writeFile(target, 'untouched');
    await mkdir(join(root, 'out', 'a'), { recursive: true });
    await symlink(target, join(root, 'out', 'a', 'result.json'));
    const record = toResultRecord(prediction, { input: 'a', key: 'a', model: 'tiny', granularity: 'utterance' });
    await writeResultFolder(join(root, 'out'), 'a', { record });
    expect(await readFile(target, 'utf8')).toBe('untouched');
    expect(await readCompleteResult(join(root, 'out'), 'a')).toMatchObject({ key: 'a' });
  });

  it('reads a truncated or foreign result.json, or one of version 0.1, as not done', async () => {
    await mkdir(join(root, 'a'));
    await writeFile(join(root, 'a', 'result.json'), '{"key": "a", "scor');
    expect(await readCompleteResult(root, 'a')).toBeNull();
    expect(await readCompleteResult(root, 'missing')).toBeNull();
    // 0.1 wrote scores as a list: --resume analyses such a folder again rather than mixing layouts.
    const old = { key: 'a', scores: [{ label: '开心/happy', score: 1 }], timestamp: '2026-01-02T03:04:05.000Z' };
    await writeFile(join(root, 'a', 'result.json'), JSON.stringify(old));
    expect(await readCompleteResult(root, 'a')).toBeNull();
  });
});

describe('summary.csv', () => {
  it('has a row per input, scores per label, and formula-looking names kept as text', async () => {
    const ok = toResultRecord(prediction, {
      input: '=HYPERLINK("x")',
      key: 'k1',
      model: 'tiny',
      granularity: 'utterance',
    });
    const failed = toErrorRecord(new AudioInputError('AUDIO_DECODE', 'bad, "quoted"\nfile'), {
      input: 'b.wav',
      key: 'b',
    });
    const path = await writeSummaryCsv(root, [{ record: ok, folder: 'k1' }, { record: failed }]);
    const rows = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      folder: 'k1',
      input: `'=HYPERLINK("x")`,
      status: 'ok',
      emotion: 'happy',
      emotion_zh: '开心',
      confidence: '0.7',
      warnings: 'TOO_QUIET',
      score_angry: '0.1',
      score_happy: '0.7',
      score_unknown: '0.2',
    });
    expect(rows[1]).toMatchObject({
      key: 'b',
      status: 'error',
      error_code: 'AUDIO_DECODE',
      error_message: 'bad, "quoted"\nfile',
      score_happy: '',
    });
  });
});
