/** The parts of head training that need no audio: gradients, the split, targets, metrics, the SVG, the head files. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { confusionSvg } from '../../src/train/confusion-svg.js';
import { fitHead, lossAndGradients, stratifiedSplit } from '../../src/train/fit.js';
import { TrainedHead, encodeHeadFiles, readHead, type HeadWeights } from '../../src/model/trained-head.js';
import { evaluatePredictions, formatEvaluation } from '../../src/train/metrics.js';
import { seededRandom } from '../../src/train/random.js';
import { mixedTargets } from '../../src/train/soft-labels.js';
import { randomArray } from '../support/fixtures.js';
import { useBackend } from '../support/backend.js';

beforeAll(() => useBackend('cpu'));

/** The same loss in float64 JS: class-weighted mean cross-entropy plus L2 on the kernels ([in, out] row-major). */
function loss64(
  params: Float64Array[],
  shapes: [number, number][],
  x: Float32Array,
  targets: Float32Array,
  weights: Float32Array,
  decay: number,
): number {
  const rows = weights.length;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let h = Array.from(x.subarray(r * shapes[0]![0], (r + 1) * shapes[0]![0]));
    shapes.forEach(([inF, outF], layer) => {
      const kernel = params[2 * layer]!;
      const bias = params[2 * layer + 1]!;
      const z = Array.from(
        { length: outF },
        (_, o) => bias[o]! + h.reduce((s, v, i) => s + v * kernel[i * outF + o]!, 0),
      );
      h = layer < shapes.length - 1 ? z.map((v) => Math.max(0, v)) : z;
      void inF;
    });
    const max = Math.max(...h);
    const logSum = Math.log(h.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
    const k = h.length;
    total += weights[r]! * -h.reduce((s, v, c) => s + targets[r * k + c]! * (v - logSum), 0);
  }
  const data = total / weights.reduce((a, b) => a + b, 0);
  const l2 = params.filter((_, i) => i % 2 === 0).reduce((s, kernel) => s + kernel.reduce((a, v) => a + v * v, 0), 0);
  return data + decay * l2;
}

describe('lossAndGradients', () => {
  for (const hidden of [0, 5]) {
    it(`matches central finite differences of the float64 loss (${hidden ? 'one hidden layer' : 'linear'})`, () => {
      const [rows, dim, classes] = [7, 4, 3];
      const shapes: [number, number][] = hidden
        ? [
            [dim, hidden],
            [hidden, classes],
          ]
        : [[dim, classes]];
      const params = shapes.flatMap(([i, o], n) => [
        Float64Array.from(randomArray(i * o, 10 + n), (v) => v * 0.8),
        Float64Array.from(randomArray(o, 20 + n), (v) => v * 0.3),
      ]);
      const x = randomArray(rows * dim, 3);
      const soft = Float32Array.from(randomArray(rows * classes, 4), (v) => Math.abs(v) + 0.1);
      for (let r = 0; r < rows; r++) {
        const sum = soft.subarray(r * classes, (r + 1) * classes).reduce((a, b) => a + b, 0);
        for (let c = 0; c < classes; c++) soft[r * classes + c]! /= sum;
      }
      const weights = Float32Array.from({ length: rows }, (_, r) => 0.5 + (r % 3));
      const decay = 0.05;
      const before = tf.memory().numTensors;
      // Variables survive a tidy; their initial tensors do not.
      const variables = tf.tidy(() =>
        params.map((p, i) =>
          tf.variable(
            i % 2 === 0 ? tf.tensor2d(Float32Array.from(p), shapes[i / 2]!) : tf.tensor1d(Float32Array.from(p)),
          ),
        ),
      );
      const { loss, gradients } = tf.tidy(() =>
        lossAndGradients(
          variables,
          tf.tensor2d(x, [rows, dim]),
          tf.tensor2d(soft, [rows, classes]),
          tf.tensor1d(weights),
          decay,
        ),
      );
      expect(loss.dataSync()[0]).toBeCloseTo(loss64(params, shapes, x, soft, weights, decay), 4);
      const eps = 1e-5;
      gradients.forEach((gradient, p) => {
        const analytic = gradient.dataSync();
        for (let j = 0; j < params[p]!.length; j++) {
          const plus = params.map((q) => q.slice());
          const minus = params.map((q) => q.slice());
          plus[p]![j]! += eps;
          minus[p]![j]! -= eps;
          const numeric =
            (loss64(plus, shapes, x, soft, weights, decay) - loss64(minus, shapes, x, soft, weights, decay)) /
            (2 * eps);
          expect(Math.abs(analytic[j]! - numeric)).toBeLessThan(1e-4);
        }
      });
      tf.dispose([loss, ...gradients, ...variables]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});

describe('fitHead', () => {
  /** Two Gaussian blobs in 6-D, shifted apart: any working trainer separates them. */
  function blobs(perClass: number, seed: number) {
    const random = seededRandom(seed);
    const dim = 6;
    const embeddings = new Float32Array(2 * perClass * dim);
    const classIndex = new Int32Array(2 * perClass);
    for (let r = 0; r < 2 * perClass; r++) {
      classIndex[r] = r % 2;
      for (let d = 0; d < dim; d++)
        embeddings[r * dim + d] = 50 + (random() - 0.5) * 4 + (r % 2 ? 2 : -2) * (d === 0 ? 1 : 0);
    }
    return { inputDim: dim, embeddings, numClasses: 2, classIndex };
  }

  it('separates two blobs, reports every epoch, frees its tensors, and the saved head (standardisation folded in) scores raw embeddings', async () => {
    const data = blobs(40, 1);
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const fit = await fitHead(data, { seed: 3, onEpoch: (p) => epochs.push(p.epoch) });
    expect(tf.memory().numTensors).toBe(before);
    expect(epochs).toEqual(fit.history.map((h) => h.epoch));
    expect(epochs).toEqual(Array.from({ length: epochs.length }, (_, i) => i + 1));
    expect(fit.trainCount + fit.validationCount).toBe(80);
    expect(fit.validationCount).toBe(16);
    const head = TrainedHead.fromWeights({ inputDim: 6, labels: ['a', 'b'], layers: fit.layers });
    const predicted = tf.tidy(() => tf.argMax(head.apply(tf.tensor2d(data.embeddings, [80, 6])), 1));
    const values = predicted.dataSync();
    predicted.dispose();
    head.dispose();
    const accuracy = Array.from(values).filter((p, i) => p === data.classIndex[i]).length / 80;
    expect(accuracy).toBeGreaterThan(0.95);
    expect(fit.history[fit.bestEpoch - 1]!.validationAccuracy).toBeGreaterThan(0.9);
  });

  it('gives identical weights for the same seed and different ones for another', async () => {
    const data = blobs(20, 2);
    const a = await fitHead(data, { seed: 7, hiddenUnits: 4, epochs: 15 });
    const b = await fitHead(data, { seed: 7, hiddenUnits: 4, epochs: 15 });
    const c = await fitHead(data, { seed: 8, hiddenUnits: 4, epochs: 15 });
    expect(a.layers.map((l) => Array.from(l.weight))).toEqual(b.layers.map((l) => Array.from(l.weight)));
    expect(a.layers.map((l) => Array.from(l.weight))).not.toEqual(c.layers.map((l) => Array.from(l.weight)));
  });

  it('weighs a rare class up with balanced class weights', async () => {
    const data = blobs(30, 4);
    // Keep 5 of class 1's 30 examples.
    const keep = Array.from(data.classIndex.keys()).filter((i) => data.classIndex[i] === 0 || i < 10);
    const rare = {
      ...data,
      embeddings: Float32Array.from(keep.flatMap((i) => Array.from(data.embeddings.subarray(i * 6, i * 6 + 6)))),
      classIndex: Int32Array.from(keep, (i) => data.classIndex[i]!),
    };
    const fit = await fitHead(rare, { seed: 1, epochs: 5 });
    const counts = [0, 1].map((c) => rare.classIndex.filter((v) => v === c).length);
    expect(counts).toEqual([30, 5]);
    // n / (classes * count) over the training part: the rare class weighs about six times more.
    expect(fit.classWeights[1]! / fit.classWeights[0]!).toBeGreaterThan(5);
  });

  it('trains thousands of classes without a dense (rows x classes) target table, and reports the same loss', async () => {
    // 600 rows over 2000 classes: a dense one-hot table would be 4.8 MB on the backend (twice, with the training
    // subset), and a whole-set loss in one go (rows x classes) is past the chunk bound, so it is summed in chunks.
    const [rows, dim, classes] = [600, 8, 2000];
    const embeddings = randomArray(rows * dim, 31);
    const classIndex = Int32Array.from({ length: rows }, (_, r) => (r * 7) % classes);
    const denseBytes = rows * classes * 4;
    let largest = 0;
    const fit = await fitHead(
      { inputDim: dim, embeddings, numClasses: classes, classIndex },
      {
        seed: 2,
        epochs: 1,
        validationSplit: 0,
        classWeights: 'none',
        weightDecay: 0,
        onEpoch: () => (largest = Math.max(largest, tf.memory().numBytes)),
      },
    );
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(denseBytes / 4);
    // The chunked loss is the float64 loss of the saved head (which takes raw embeddings) on the same rows.
    const params = fit.layers.flatMap((layer) => {
      const kernel = new Float64Array(layer.inFeatures * layer.outFeatures);
      for (let o = 0; o < layer.outFeatures; o++)
        for (let i = 0; i < layer.inFeatures; i++)
          kernel[i * layer.outFeatures + o] = layer.weight[o * layer.inFeatures + i]!;
      return [kernel, Float64Array.from(layer.bias)];
    });
    const oneHot = new Float32Array(rows * classes);
    classIndex.forEach((c, r) => (oneHot[r * classes + c] = 1));
    const expected = loss64(params, [[dim, classes]], embeddings, oneHot, new Float32Array(rows).fill(1), 0);
    expect(Math.abs(fit.history[0]!.trainLoss - expected) / expected).toBeLessThan(1e-4);
  });

  it('refuses bad options and targets that are not distributions with typed errors', async () => {
    const data = blobs(5, 5);
    await expect(fitHead(data, { learningRate: -1 })).rejects.toMatchObject({
      name: 'UsageError',
      code: 'INVALID_ARGUMENT',
    });
    await expect(fitHead(data, { validationSplit: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/validationSplit/),
    });
    await expect(fitHead({ ...data, targets: new Float32Array(20).fill(1) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/sums to 2/),
    });
  });
});

describe('stratifiedSplit', () => {
  it('holds out the share of every class with two or more examples, and is seeded', () => {
    const classIndex = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
    const a = stratifiedSplit(classIndex, 3, 0.2, seededRandom(1));
    expect(a.validation.map((i) => classIndex[i])).toEqual([0, 1, 1]);
    expect(a.train.length + a.validation.length).toBe(16);
    expect(a.train).toContain(15); // the only example of class 2 trains
    expect(stratifiedSplit(classIndex, 3, 0.2, seededRandom(1))).toEqual(a);
  });
});

describe('mixedTargets', () => {
  const base = ['生气/angry', '开心/happy', '中立/neutral', '<unk>'];
  it("mixes the base model's scores of the matched labels, renormalised, with the hard labels", () => {
    const scores = Float32Array.from([0.1, 0.6, 0.2, 0.1, 0.5, 0.1, 0.1, 0.3]);
    const targets = mixedTargets(Int32Array.from([0, 1]), ['happy', 'Angry'], base, scores, 0.4);
    // Row 0 (hard: happy): soft over [happy, angry] = [0.6, 0.1] / 0.7.
    expect(targets[0]).toBeCloseTo(0.6 + 0.4 * (0.6 / 0.7), 6);
    expect(targets[1]).toBeCloseTo(0.4 * (0.1 / 0.7), 6);
    // Row 1 (hard: angry): soft = [0.1, 0.5] / 0.6.
    expect(targets[2]).toBeCloseTo(0.4 * (0.1 / 0.6), 6);
    expect(targets[3]).toBeCloseTo(0.6 + 0.4 * (0.5 / 0.6), 6);
    expect(mixedTargets(Int32Array.from([1]), ['happy', 'angry'], base, scores.subarray(0, 4), 0)).toEqual(
      Float32Array.from([0, 1]),
    );
  });

  it('refuses soft labels for a class the model does not have', () => {
    expect(() => mixedTargets(Int32Array.from([0]), ['happy', 'bored'], base, new Float32Array(4), 0.3)).toThrow(
      expect.objectContaining({ code: 'TRAIN_DATA_INVALID', message: expect.stringMatching(/"bored"/) }),
    );
  });
});

describe('evaluatePredictions', () => {
  it('computes accuracy, macro F1, unweighted accuracy, per-class precision/recall and the confusion matrix', () => {
    // truth: a a a a b b c ; predicted: a a a b b c c
    const e = evaluatePredictions([0, 0, 0, 0, 1, 1, 2], [0, 0, 0, 1, 1, 2, 2], ['a', 'b', 'c']);
    expect(e.confusion).toEqual([
      [3, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    expect(e.accuracy).toBeCloseTo(5 / 7, 12);
    expect(e.perClass.map((m) => [m.precision, m.recall])).toEqual([
      [1, 0.75],
      [0.5, 0.5],
      [0.5, 1],
    ]);
    expect(e.unweightedAccuracy).toBeCloseTo((0.75 + 0.5 + 1) / 3, 12);
    const f1 = [(2 * 0.75) / 1.75, 0.5, (2 * 0.5) / 1.5];
    expect(e.macroF1).toBeCloseTo((f1[0]! + f1[1]! + f1[2]!) / 3, 12);
    expect(formatEvaluation(e)).toMatch(/7 recordings: accuracy 71.4%, unweighted accuracy 75.0%/);
  });

  it('leaves classes that neither occur nor are predicted out of the macro averages', () => {
    const e = evaluatePredictions([0, 1], [0, 1], ['a', 'b', 'never']);
    expect(e.macroF1).toBe(1);
    expect(e.unweightedAccuracy).toBe(1);
  });

  it('draws the matrix as SVG with every count and escaped labels', () => {
    const svg = confusionSvg(evaluatePredictions([0, 0, 1], [0, 1, 1], ['<a&b>', 'c']));
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('&lt;a&amp;b&gt;');
    expect(svg).not.toContain('<a&b>');
    expect(svg.match(/<rect x=/g)).toHaveLength(4);
    expect([...svg.matchAll(/text-anchor="middle" fill="\w+">(\d+)</g)].map((m) => Number(m[1]))).toEqual([1, 1, 0, 1]);
  });
});

describe('head files', () => {
  const head: HeadWeights = {
    inputDim: 3,
    labels: ['x', 'y'],
    layers: [
      {
        inFeatures: 3,
        outFeatures: 2,
        weight: Float32Array.from([1, 2, 3, 4, 5, 6]),
        bias: Float32Array.from([0.5, -0.5]),
      },
    ],
  };

  it('round-trips through its files (in memory)', async () => {
    const files = Object.fromEntries(encodeHeadFiles(head));
    expect(Object.keys(files).sort()).toEqual(['head.json', 'layers.0.bias.npy', 'layers.0.weight.npy', 'tokens.txt']);
    const read = await readHead(files);
    expect(read.labels).toEqual(['x', 'y']);
    expect(Array.from(read.layers[0]!.weight)).toEqual([1, 2, 3, 4, 5, 6]);
    // torch layout: logits = x W^T + b.
    const classifier = TrainedHead.fromWeights(read);
    const logits = tf.tidy(() => classifier.apply(tf.tensor2d([[1, 0, -1]])));
    expect(Array.from(logits.dataSync())).toEqual([1 - 3 + 0.5, 4 - 6 - 0.5]);
    logits.dispose();
    classifier.dispose();
  });

  it('refuses damaged heads with HEAD_INVALID', async () => {
    const files = Object.fromEntries(encodeHeadFiles(head));
    await expect(readHead({ ...files, 'head.json': '{not json' })).rejects.toMatchObject({
      name: 'ConfigError',
      code: 'HEAD_INVALID',
      message: expect.stringMatching(/not valid JSON/),
    });
    await expect(readHead({ ...files, 'tokens.txt': 'x\ny\nz\n' })).rejects.toMatchObject({
      code: 'HEAD_INVALID',
      message: expect.stringMatching(/2 outputs but tokens.txt lists 3/),
    });
    const manifest = JSON.parse(new TextDecoder().decode(files['head.json'] as Uint8Array));
    manifest.layers[0].weight = '../../etc/passwd';
    await expect(readHead({ ...files, 'head.json': JSON.stringify(manifest) })).rejects.toMatchObject({
      code: 'HEAD_INVALID',
    });
    const { ['layers.0.bias.npy']: _, ...withoutBias } = files;
    await expect(readHead(withoutBias)).rejects.toMatchObject({
      code: 'HEAD_INVALID',
      message: expect.stringMatching(/layers.0.bias.npy not found/),
    });
    await expect(readHead('/nonexistent/head/dir')).rejects.toMatchObject({
      code: 'HEAD_INVALID',
      message: expect.stringMatching(/Head not found/),
    });
  });
});
