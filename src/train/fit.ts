/**
 * Training a head on fixed embeddings with TensorFlow.js: standardised inputs, a linear layer (or one ReLU hidden
 * layer), class-weighted softmax cross-entropy on hard or soft targets, L2 weight decay, Adam, and early stopping
 * on a stratified validation split that keeps the best epoch's weights. Runs on whatever backend is current.
 * The standardisation is folded into the first layer at the end, so the saved head takes raw embeddings.
 *
 * The gradients are written out (`lossAndGradients`) rather than taken from tfjs' tape: tfjs-core's Node build
 * registers no gradient functions (the `@tensorflow/tfjs` union package adds them), and for softmax cross-entropy
 * over one or two dense layers they are a few matmuls. Adam itself is tfjs' (`tf.train.adam().applyGradients`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import type { DenseLayerWeights } from '../model/trained-head.js';
import { seededRandom, shuffled, type Random } from './random.js';

/** How to train; every field has a default. */
export interface FitOptions {
  /** Units of one ReLU hidden layer; 0 (default) trains a linear head. */
  readonly hiddenUnits?: number;
  /** Most epochs to run (default 200); early stopping usually ends sooner. */
  readonly epochs?: number;
  /** Examples per Adam step (default 32). */
  readonly batchSize?: number;
  /** Adam's learning rate (default 0.01). */
  readonly learningRate?: number;
  /** L2 penalty on the weights, not the biases (default 0.01). */
  readonly weightDecay?: number;
  /** Share of each class held out for early stopping (default 0.2); 0 trains for `epochs` without validation. */
  readonly validationSplit?: number;
  /** Epochs without a better validation loss before stopping (default 20). */
  readonly patience?: number;
  /** 'balanced' (default): each class weighs the same in the loss whatever its count; 'none': each example does. */
  readonly classWeights?: 'balanced' | 'none';
  /** Seed of the split, the initial weights and the batch order (default 0): same seed, same head. */
  readonly seed?: number;
  /** Called after every epoch. */
  readonly onEpoch?: (progress: EpochProgress) => void;
}

/** One epoch's numbers. */
export interface EpochProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly trainLoss: number;
  /** Null without a validation split. */
  readonly validationLoss: number | null;
  readonly validationAccuracy: number | null;
  /** Whether this epoch's weights are the best so far (the ones kept). */
  readonly improved: boolean;
}

/** What to train on. */
export interface FitData {
  readonly inputDim: number;
  /** (N, inputDim) embeddings, row-major. */
  readonly embeddings: Float32Array;
  readonly numClasses: number;
  /** Class index of each row (stratifies the split, weighs the classes, scores validation accuracy). */
  readonly classIndex: Int32Array;
  /** (N, numClasses) target distributions; default: one-hot of `classIndex`. */
  readonly targets?: Float32Array;
}

export interface FitResult {
  /** The trained layers, torch.nn.Linear layout, standardisation folded in. */
  readonly layers: DenseLayerWeights[];
  readonly history: EpochProgress[];
  /** Epoch whose weights were kept (1-based). */
  readonly bestEpoch: number;
  readonly trainCount: number;
  readonly validationCount: number;
  /** Loss weight of each class. */
  readonly classWeights: number[];
}

/** A layer's kernel (in, out) and bias while training. */
interface LayerValues {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

/** Rows of the data on the backend: inputs, dense targets (soft labels) or class indices, loss weights. */
interface RowSet {
  readonly x: tf.Tensor2D;
  readonly t: tf.Tensor2D | null;
  readonly classes: tf.Tensor1D;
  readonly w: tf.Tensor1D;
  readonly numClasses: number;
  /** Class index of each row, in JavaScript. */
  readonly labels: number[];
}

/**
 * Most (rows x classes) elements one step of a whole-set loss or accuracy computes at once (4 MiB of float32 per
 * intermediate): larger sets are taken in chunks of rows, so memory does not grow with rows times classes.
 */
const CHUNK_ELEMENTS = 1 << 20;

/** Resolved options. */
type Settings = Required<Omit<FitOptions, 'onEpoch'>>;

const DEFAULTS: Settings = {
  hiddenUnits: 0,
  epochs: 200,
  batchSize: 32,
  learningRate: 0.01,
  weightDecay: 0.01,
  validationSplit: 0.2,
  patience: 20,
  classWeights: 'balanced',
  seed: 0,
};

/** Trains a head. Frees every tensor it makes, also when it fails. */
export async function fitHead(data: FitData, options: FitOptions = {}): Promise<FitResult> {
  const settings = resolveSettings(options);
  const { inputDim: dim, numClasses, classIndex } = data;
  const rows = classIndex.length;
  if (data.embeddings.length !== rows * dim)
    throw new UsageError('INVALID_ARGUMENT', `fitHead: ${rows} labels but ${data.embeddings.length / dim} embeddings.`);
  const badClass = classIndex.findIndex((k) => !(k >= 0 && k < numClasses));
  if (badClass >= 0)
    throw new UsageError(
      'INVALID_ARGUMENT',
      `fitHead: row ${badClass} has class ${classIndex[badClass]}, not one of 0..${numClasses - 1}.`,
    );
  if (data.targets && data.targets.length !== rows * numClasses)
    throw new UsageError(
      'INVALID_ARGUMENT',
      `fitHead: targets hold ${data.targets.length} values, not ${rows} rows x ${numClasses} classes.`,
    );
  const random = seededRandom(settings.seed);
  const { train, validation } = stratifiedSplit(classIndex, numClasses, settings.validationSplit, random);
  const classWeights = weightsOfClasses(
    train.map((i) => classIndex[i]!),
    numClasses,
    settings.classWeights,
  );
  const { mean, scale } = standardisation(data.embeddings, train, dim);
  const inputs = standardised(data.embeddings, mean, scale);
  // Hard labels stay class indices, made one-hot a batch (or a bounded chunk) at a time: a dense (N, classes)
  // target table is what a head of thousands of classes cannot afford. Soft targets come dense from the caller.
  if (data.targets) assertDistributions(data.targets, numClasses);
  const shapes = layerShapes(dim, settings.hiddenUnits, numClasses);
  const initial = shapes.map(([inFeatures, outFeatures]) => glorotUniform(inFeatures, outFeatures, random));

  const history: EpochProgress[] = [];
  let best: { loss: number; epoch: number; values: LayerValues[] } = { loss: Infinity, epoch: 0, values: initial };
  const tensors: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => (tensors.push(t), t);
  const optimizer = tf.train.adam(settings.learningRate);
  try {
    const variables = initial.flatMap((l, i) => [
      keep(tf.variable(keep(tf.tensor2d(l.kernel, [shapes[i]![0], shapes[i]![1]])))),
      keep(tf.variable(keep(tf.tensor1d(l.bias)))),
    ]) as tf.Variable[];
    const x = keep(tf.tensor2d(inputs, [rows, dim]));
    const t = data.targets ? keep(tf.tensor2d(data.targets, [rows, numClasses])) : null;
    const c = keep(tf.tensor1d(classIndex, 'int32'));
    const w = keep(tf.tensor1d(Float32Array.from(classIndex, (k) => classWeights[k]!)));
    const subset = (indices: number[]): RowSet => {
      const at = keep(tf.tensor1d(Int32Array.from(indices), 'int32'));
      return {
        x: keep(tf.gather(x, at)) as tf.Tensor2D,
        t: t ? (keep(tf.gather(t, at)) as tf.Tensor2D) : null,
        classes: keep(tf.gather(c, at)) as tf.Tensor1D,
        w: keep(tf.gather(w, at)) as tf.Tensor1D,
        numClasses,
        labels: indices.map((i) => classIndex[i]!),
      };
    };
    const trainSet = subset(train);
    const validationSet = validation.length > 0 ? subset(validation) : null;

    for (let epoch = 1; epoch <= settings.epochs; epoch++) {
      for (const batch of batches(
        shuffled(
          train.map((_, i) => i),
          random,
        ),
        settings.batchSize,
      )) {
        tf.tidy(() => {
          const { xs, ts, ws } = rowsOf(trainSet, tf.tensor1d(Int32Array.from(batch), 'int32'));
          const { gradients } = lossAndGradients(variables, xs, ts, ws, settings.weightDecay);
          optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: gradients[i]! })));
        });
      }
      const trainLoss = await setLoss(variables, trainSet, settings.weightDecay);
      let validationLoss: number | null = null;
      let validationAccuracy: number | null = null;
      if (validationSet) {
        validationLoss = await setLoss(variables, validationSet, settings.weightDecay);
        validationAccuracy = await accuracy(variables, validationSet);
      }
      const monitored = validationLoss ?? trainLoss;
      const improved = monitored < best.loss;
      if (improved) best = { loss: monitored, epoch, values: await snapshot(variables) };
      const progress = { epoch, epochs: settings.epochs, trainLoss, validationLoss, validationAccuracy, improved };
      history.push(progress);
      options.onEpoch?.(progress);
      if (validationSet && epoch - best.epoch >= settings.patience) break;
      if (!Number.isFinite(trainLoss))
        throw new UsageError(
          'INVALID_ARGUMENT',
          `Training diverged (loss ${trainLoss} at epoch ${epoch}); lower the learning rate.`,
        );
    }
  } finally {
    optimizer.dispose();
    tf.dispose(tensors);
  }
  const layers = foldStandardisation(best.values, shapes, mean, scale);
  return {
    layers,
    history,
    bestEpoch: best.epoch,
    trainCount: train.length,
    validationCount: validation.length,
    classWeights,
  };
}

function resolveSettings(options: FitOptions): Settings {
  const given = options as Record<string, unknown>;
  const settings = Object.fromEntries(
    Object.entries(DEFAULTS).map(([name, fallback]) => [name, given[name] ?? fallback]),
  ) as Settings;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new UsageError('INVALID_ARGUMENT', `Training option ${what}.`);
  };
  check(
    Number.isInteger(settings.hiddenUnits) && settings.hiddenUnits >= 0 && settings.hiddenUnits <= 65536,
    `hiddenUnits must be an integer from 0 (linear) to 65536; got ${settings.hiddenUnits}`,
  );
  check(
    Number.isInteger(settings.epochs) && settings.epochs >= 1,
    `epochs must be a positive integer; got ${settings.epochs}`,
  );
  check(
    Number.isInteger(settings.batchSize) && settings.batchSize >= 1,
    `batchSize must be a positive integer; got ${settings.batchSize}`,
  );
  check(
    settings.learningRate > 0 && settings.learningRate < 10,
    `learningRate must be in (0, 10); got ${settings.learningRate}`,
  );
  check(settings.weightDecay >= 0, `weightDecay must be >= 0; got ${settings.weightDecay}`);
  check(
    settings.validationSplit >= 0 && settings.validationSplit < 1,
    `validationSplit must be in [0, 1); got ${settings.validationSplit}`,
  );
  check(
    Number.isInteger(settings.patience) && settings.patience >= 1,
    `patience must be a positive integer; got ${settings.patience}`,
  );
  check(
    settings.classWeights === 'balanced' || settings.classWeights === 'none',
    `classWeights must be 'balanced' or 'none'; got ${String(settings.classWeights)}`,
  );
  check(Number.isInteger(settings.seed), `seed must be an integer; got ${settings.seed}`);
  return settings;
}

/** Each class split on its own, so validation sees every class that has two or more examples. */
export function stratifiedSplit(
  classIndex: Int32Array,
  numClasses: number,
  share: number,
  random: Random,
): { train: number[]; validation: number[] } {
  const train: number[] = [];
  const validation: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = shuffled(
      Array.from(classIndex.keys()).filter((i) => classIndex[i] === c),
      random,
    );
    const held = members.length >= 2 ? Math.min(members.length - 1, Math.round(members.length * share)) : 0;
    validation.push(...members.slice(0, held));
    train.push(...members.slice(held));
  }
  return { train: train.sort((a, b) => a - b), validation: validation.sort((a, b) => a - b) };
}

/** 'balanced': n / (classes * count of the class), as scikit-learn's class_weight='balanced'. */
function weightsOfClasses(trainClasses: number[], numClasses: number, mode: 'balanced' | 'none'): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of trainClasses) counts[c]!++;
  return counts.map((count) => (mode === 'none' || count === 0 ? 1 : trainClasses.length / (numClasses * count)));
}

function standardisation(
  embeddings: Float32Array,
  rows: number[],
  dim: number,
): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) mean[d]! += embeddings[r * dim + d]! / rows.length;
  for (const r of rows)
    for (let d = 0; d < dim; d++) scale[d]! += (embeddings[r * dim + d]! - mean[d]!) ** 2 / rows.length;
  // A constant feature keeps scale 1, so it cannot blow up.
  for (let d = 0; d < dim; d++) scale[d] = scale[d]! > 1e-12 ? Math.sqrt(scale[d]!) : 1;
  return { mean, scale };
}

function standardised(embeddings: Float32Array, mean: Float64Array, scale: Float64Array): Float32Array {
  const dim = mean.length;
  return embeddings.map((v, i) => (v - mean[i % dim]!) / scale[i % dim]!);
}

/** Rows `at` of a set: inputs, targets (the dense rows, or one-hot of the classes) and weights. Inside a tidy. */
function rowsOf(set: RowSet, at: tf.Tensor1D): { xs: tf.Tensor2D; ts: tf.Tensor2D; ws: tf.Tensor1D } {
  return {
    xs: tf.gather(set.x, at) as tf.Tensor2D,
    ts: set.t
      ? (tf.gather(set.t, at) as tf.Tensor2D)
      : (tf.cast(tf.oneHot(tf.gather(set.classes, at) as tf.Tensor1D, set.numClasses), 'float32') as tf.Tensor2D),
    ws: tf.gather(set.w, at) as tf.Tensor1D,
  };
}

/** Row ranges [start, end) of at most CHUNK_ELEMENTS / classes rows each. */
function rowChunks(rows: number, classes: number): [number, number][] {
  const size = Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(1, classes)));
  const chunks: [number, number][] = [];
  for (let start = 0; start < rows; start += size) chunks.push([start, Math.min(rows, start + size)]);
  return chunks;
}

/**
 * The weighted loss of a whole set. A set that fits one chunk is computed in one go; a larger one chunk by chunk,
 * summing the weighted cross-entropy and the weights in float64, then adding the L2 term once.
 */
async function setLoss(variables: tf.Variable[], set: RowSet, decay: number): Promise<number> {
  const rows = set.labels.length;
  const chunks = rowChunks(rows, set.numClasses);
  if (chunks.length === 1) {
    return scalar(() => {
      const { xs, ts, ws } = rowsOf(set, tf.range(0, rows, 1, 'int32') as tf.Tensor1D);
      return weightedLoss(variables, xs, ts, ws, decay);
    });
  }
  let weighted = 0;
  let weightTotal = 0;
  for (const [start, end] of chunks) {
    const sums = tf.tidy(() => {
      const { xs, ts, ws } = rowsOf(set, tf.range(start, end, 1, 'int32') as tf.Tensor1D);
      const perExample = tf.neg(tf.sum(tf.mul(ts, tf.logSoftmax(forward(variables, xs))), 1));
      return tf.stack([tf.sum(tf.mul(perExample, ws)), tf.sum(ws)]);
    });
    const [part, partWeights] = await sums.data();
    sums.dispose();
    weighted += part!;
    weightTotal += partWeights!;
  }
  const l2 =
    decay === 0
      ? 0
      : await scalar(
          () => tf.addN(variables.filter((_, i) => i % 2 === 0).map((k) => tf.sum(tf.square(k)))) as tf.Scalar,
        );
  return weighted / weightTotal + decay * l2;
}

function layerShapes(dim: number, hidden: number, classes: number): [number, number][] {
  return hidden > 0
    ? [
        [dim, hidden],
        [hidden, classes],
      ]
    : [[dim, classes]];
}

/** Glorot/Xavier uniform kernel (in, out) and zero bias, from the seeded generator. */
function glorotUniform(inFeatures: number, outFeatures: number, random: Random): LayerValues {
  const limit = Math.sqrt(6 / (inFeatures + outFeatures));
  const kernel = Float32Array.from({ length: inFeatures * outFeatures }, () => (random() * 2 - 1) * limit);
  return { kernel, bias: new Float32Array(outFeatures) };
}

/** Logits of (B, D) inputs: [kernel, bias] pairs, ReLU between layers. */
function forward(variables: tf.Variable[], x: tf.Tensor2D): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  for (let i = 0; i < variables.length; i += 2) {
    h = tf.add(tf.matMul(h, variables[i] as tf.Tensor2D), variables[i + 1]!);
    if (i + 2 < variables.length) h = tf.relu(h);
  }
  return h;
}

/** Class-weighted mean cross-entropy against target distributions, plus L2 on the kernels. */
function weightedLoss(
  variables: tf.Variable[],
  x: tf.Tensor2D,
  targets: tf.Tensor2D,
  weights: tf.Tensor1D,
  decay: number,
  logits = forward(variables, x),
): tf.Scalar {
  const logProbabilities = tf.logSoftmax(logits);
  const perExample = tf.neg(tf.sum(tf.mul(targets, logProbabilities), 1));
  const data = tf.div(tf.sum(tf.mul(perExample, weights)), tf.sum(weights));
  if (decay === 0) return data as tf.Scalar;
  const kernels = variables.filter((_, i) => i % 2 === 0).map((k) => tf.sum(tf.square(k)));
  return tf.add(data, tf.mul(decay, tf.addN(kernels))) as tf.Scalar;
}

/**
 * The loss and its gradient for each variable, in order. With targets that sum to 1, d(cross-entropy)/d(logits)
 * is softmax - target; it flows back through the dense layers (and the ReLU mask) as matmuls; L2 adds 2 * decay * K.
 */
export function lossAndGradients(
  variables: readonly tf.Variable[],
  x: tf.Tensor2D,
  targets: tf.Tensor2D,
  weights: tf.Tensor1D,
  decay: number,
): { loss: tf.Scalar; gradients: tf.Tensor[] } {
  return tf.tidy(() => {
    const inputs: tf.Tensor2D[] = [x];
    const preActivations: tf.Tensor2D[] = [];
    for (let i = 0; i < variables.length; i += 2) {
      const z = tf.add(
        tf.matMul(inputs[inputs.length - 1]!, variables[i] as tf.Tensor2D),
        variables[i + 1]!,
      ) as tf.Tensor2D;
      preActivations.push(z);
      if (i + 2 < variables.length) inputs.push(tf.relu(z));
    }
    const logits = preActivations[preActivations.length - 1]!;
    const loss = weightedLoss(variables as tf.Variable[], x, targets, weights, decay, logits);
    // (B, K): each example's share of the weighted mean times (softmax - target).
    let upstream = tf.mul(
      tf.sub(tf.softmax(logits), targets),
      tf.expandDims(tf.div(weights, tf.sum(weights)), 1),
    ) as tf.Tensor2D;
    const gradients: tf.Tensor[] = new Array(variables.length);
    for (let layer = preActivations.length - 1; layer >= 0; layer--) {
      const kernel = variables[2 * layer] as tf.Tensor2D;
      gradients[2 * layer] = tf.add(tf.matMul(inputs[layer]!, upstream, true, false), tf.mul(2 * decay, kernel));
      gradients[2 * layer + 1] = tf.sum(upstream, 0);
      if (layer > 0) {
        const mask = tf.cast(tf.greater(preActivations[layer - 1]!, 0), 'float32');
        upstream = tf.mul(tf.matMul(upstream, kernel, false, true), mask) as tf.Tensor2D;
      }
    }
    return { loss, gradients };
  });
}

function assertDistributions(targets: Float32Array, numClasses: number): void {
  for (let row = 0; row < targets.length / numClasses; row++) {
    let total = 0;
    for (let c = 0; c < numClasses; c++) {
      const v = targets[row * numClasses + c]!;
      if (!(v >= 0))
        throw new UsageError('INVALID_ARGUMENT', `fitHead: target row ${row} has a negative or NaN entry.`);
      total += v;
    }
    if (Math.abs(total - 1) > 1e-4)
      throw new UsageError(
        'INVALID_ARGUMENT',
        `fitHead: target row ${row} sums to ${total}; targets must be probability distributions.`,
      );
  }
}

async function scalar(compute: () => tf.Scalar): Promise<number> {
  const value = tf.tidy(compute);
  try {
    return (await value.data())[0]!;
  } finally {
    value.dispose();
  }
}

/** Share of the set's rows whose highest logit is their class, computed chunk by chunk. */
async function accuracy(variables: tf.Variable[], set: RowSet): Promise<number> {
  let correct = 0;
  for (const [start, end] of rowChunks(set.labels.length, set.numClasses)) {
    const predicted = tf.tidy(() => tf.argMax(forward(variables, tf.slice(set.x, [start, 0], [end - start, -1])), 1));
    const values = await predicted.data();
    predicted.dispose();
    for (let i = start; i < end; i++) if (values[i - start] === set.labels[i]) correct++;
  }
  return correct / set.labels.length;
}

async function snapshot(variables: tf.Variable[]): Promise<LayerValues[]> {
  const values = await Promise.all(variables.map((v) => v.data() as Promise<Float32Array>));
  const out: LayerValues[] = [];
  for (let i = 0; i < values.length; i += 2) out.push({ kernel: values[i]!.slice(), bias: values[i + 1]!.slice() });
  return out;
}

function* batches(order: number[], size: number): Generator<number[]> {
  for (let start = 0; start < order.length; start += size) yield order.slice(start, start + size);
}

/**
 * ((x - mean) / scale) K + b  ==  x (K / scale) + (b - (mean / scale) K): the first layer absorbs the
 * standardisation, in float64. Kernels (in, out) become torch-layout weights (out, in).
 */
function foldStandardisation(
  values: LayerValues[],
  shapes: [number, number][],
  mean: Float64Array,
  scale: Float64Array,
): DenseLayerWeights[] {
  return values.map(({ kernel, bias }, layer) => {
    const [inFeatures, outFeatures] = shapes[layer]!;
    const weight = new Float32Array(outFeatures * inFeatures);
    const folded = new Float32Array(outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      let shift = bias[o]!;
      for (let i = 0; i < inFeatures; i++) {
        const k = kernel[i * outFeatures + o]!;
        if (layer === 0) {
          weight[o * inFeatures + i] = k / scale[i]!;
          shift -= (mean[i]! / scale[i]!) * k;
        } else {
          weight[o * inFeatures + i] = k;
        }
      }
      folded[o] = shift;
    }
    return { inFeatures, outFeatures, weight, bias: folded };
  });
}
