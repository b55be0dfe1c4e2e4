/**
 * What train-head and evaluate accept and write: labels a head can keep, output folders held to the rules of result
 * folders (atomic writes, no planted link followed, no model folder, no foreign files unless forced), and reports of
 * thousands of classes drawn within bounds.
 */
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeHeadFiles, readHead, type HeadWeights } from '../../src/model/trained-head.js';
import { confusionSvg } from '../../src/train/confusion-svg.js';
import { classesOf, readLabelledData } from '../../src/train/dataset.js';
import { evaluationJson, type EvaluationReport } from '../../src/train/evaluate.js';
import { drawnClasses, evaluatePredictions, formatEvaluation, MAX_DRAWN_CLASSES } from '../../src/train/metrics.js';
import { writeHead } from '../../src/train/train-head.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'e2v-train-out-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const head = (labels: string[]): HeadWeights => ({
  inputDim: 2,
  labels,
  layers: [
    {
      inFeatures: 2,
      outFeatures: labels.length,
      weight: new Float32Array(2 * labels.length).fill(0.5),
      bias: new Float32Array(labels.length),
    },
  ],
});

describe('labels', () => {
  it.each([
    ['a line break', 'happy\nsad'],
    ['a carriage return', 'happy\r'],
    ['an escape', 'red\u001b[31m'],
    ['a NUL', 'nul\u0000'],
    ['a line separator', 'a\u2028b'],
    ['white space at its end', 'happy '],
    ['the placeholder prefix', 'unused_3'],
  ])('refuses a CSV label with %s before any audio is looked at', async (_, label) => {
    const csv = join(dir, 'data.csv');
    writeFileSync(csv, `path,label\nmissing-a.wav,ok\nmissing-b.wav,"${label.replace(/"/g, '""')}"\n`);
    const error = await readLabelledData({ data: csv }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'TRAIN_DATA_INVALID', message: expect.stringMatching(/row 3: the label/) });
    // Said before the missing audio (TRAIN_AUDIO_MISSING) would be.
  });

  it('refuses a label over 200 characters, and the same rules in --classes', async () => {
    const csv = join(dir, 'data.csv');
    writeFileSync(csv, `path,label\na.wav,${'x'.repeat(201)}\n`);
    await expect(readLabelledData({ data: csv })).rejects.toMatchObject({
      code: 'TRAIN_DATA_INVALID',
      message: expect.stringMatching(/has 201 characters; at most 200/),
    });
    const items = [
      { key: 'a', path: '/a', label: 'a' },
      { key: 'b', path: '/b', label: 'b' },
    ];
    expect(() => classesOf(items, ['a', 'b', 'c\nd'])).toThrow(expect.objectContaining({ code: 'TRAIN_DATA_INVALID' }));
  });

  it('a head never holds a label its tokens.txt cannot give back', async () => {
    expect(() => encodeHeadFiles(head(['a', 'b\nc']))).toThrow(expect.objectContaining({ code: 'HEAD_INVALID' }));
    expect(() => encodeHeadFiles(head([' a', 'b']))).toThrow(expect.objectContaining({ code: 'HEAD_INVALID' }));
    const files = Object.fromEntries(encodeHeadFiles(head(['a', 'b'])));
    await expect(readHead({ ...files, 'tokens.txt': 'a\nb\u001b[2J\n' })).rejects.toMatchObject({
      code: 'HEAD_INVALID',
      message: expect.stringMatching(/control character/),
    });
  });
});

describe('the head folder', () => {
  it('writes into a new folder, and again over its own head and cache', async () => {
    const out = join(dir, 'head');
    expect(await writeHead(head(['a', 'b']), out)).toContain('tokens.txt');
    mkdirSync(join(out, 'cache'));
    await writeHead(head(['x', 'y']), out);
    expect(readFileSync(join(out, 'tokens.txt'), 'utf8')).toBe('x\ny\n');
    expect(readdirSync(out).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it("never into a model's folder, even with force: its tokens.txt stays", async () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'config.yaml'), 'model_conf: {}\n');
    writeFileSync(join(model, 'tokens.txt'), 'angry\nhappy\n');
    for (const force of [false, true]) {
      await expect(writeHead(head(['a', 'b']), model, { force })).rejects.toMatchObject({
        code: 'OUTPUT_UNSAFE_PATH',
        message: expect.stringMatching(/holds a model \("config.yaml"\)/),
      });
    }
    expect(readFileSync(join(model, 'tokens.txt'), 'utf8')).toBe('angry\nhappy\n');
  });

  it('refuses a folder with other files unless forced', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    await expect(writeHead(head(['a', 'b']), dir)).rejects.toMatchObject({
      code: 'OUTPUT_UNSAFE_PATH',
      message: expect.stringMatching(/holds other files \("notes.txt"\).*--force/),
    });
    await writeHead(head(['a', 'b']), dir, { force: true });
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(dir, 'tokens.txt'), 'utf8')).toBe('a\nb\n');
  });

  it('replaces a planted link instead of writing through it, and refuses a cache folder that is a link', async () => {
    const outside = join(dir, 'outside.txt');
    writeFileSync(outside, 'untouched');
    const out = join(dir, 'head');
    mkdirSync(out);
    symlinkSync(outside, join(out, 'tokens.txt'));
    symlinkSync(outside, join(out, 'layers.0.weight.npy'));
    await writeHead(head(['a', 'b']), out);
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    expect(readFileSync(join(out, 'tokens.txt'), 'utf8')).toBe('a\nb\n');
    symlinkSync(dir, join(out, 'cache'));
    await expect(writeHead(head(['a', 'b']), out)).rejects.toMatchObject({
      code: 'OUTPUT_UNSAFE_PATH',
      message: expect.stringMatching(/cache.* is not a plain folder/),
    });
  });
});

describe('reports of many classes', () => {
  const classes = 3000;
  const labels = Array.from({ length: classes }, (_, c) => `class-${c}`);
  // 5000 recordings over the first 100 classes, most predicted right, some into the other 2900.
  const truth = Array.from({ length: 5000 }, (_, i) => i % 100);
  const predicted = truth.map((t, i) => (i % 7 === 0 ? (t * 31 + i) % classes : t));
  const evaluation = evaluatePredictions(truth, predicted, labels);

  it('draws at most MAX_DRAWN_CLASSES classes, those with the most examples, and says so', () => {
    const shown = drawnClasses(evaluation);
    expect(shown).toHaveLength(MAX_DRAWN_CLASSES);
    expect(shown.every((c) => c < 100)).toBe(true);
    const svg = confusionSvg(evaluation);
    expect(svg.length).toBeLessThan(400_000);
    expect(svg.match(/<rect x=/g)).toHaveLength(MAX_DRAWN_CLASSES ** 2);
    expect(svg).toContain(`${MAX_DRAWN_CLASSES} of 3000 classes shown`);
    const text = formatEvaluation(evaluation);
    expect(text).toContain(`${MAX_DRAWN_CLASSES} of 3000 classes shown`);
    expect(text.split('\n').length).toBeLessThan(3000 + MAX_DRAWN_CLASSES + 20);
    // A small matrix is drawn whole, without a note.
    expect(confusionSvg(evaluatePredictions([0, 1], [0, 1], ['a', 'b']))).not.toContain('classes shown');
  });

  it('writes evaluation.json with the whole matrix, one row a line', () => {
    const report: EvaluationReport = { ...evaluation, predictions: [] };
    const json = evaluationJson(report);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(report)));
    expect(json.split('\n').length).toBeLessThan(classes * 12 + 100);
    expect(json.length).toBeLessThan(30 * 2 ** 20);
  });
});
