/**
 * A trained head: dense layers on the utterance embedding giving logits over its own labels, in place of
 * emotion2vec's 9-label `proj` layer (the `ClassificationHead` layer). `emotion2vec train-head` writes one; the
 * model loads it (`LoadOptions.head`), so its format and reader live here, with the model. Saved as a folder
 * (docs/train-head.md):
 *
 * - `head.json`: format, version, input width, the layers (ReLU between them) and a training summary;
 * - `tokens.txt`: the labels, one a line, in output order (as the model's own tokens.txt);
 * - `layers.<i>.weight.npy` (out, in) and `layers.<i>.bias.npy` (out,): float32, torch.nn.Linear's layout, so a
 *   linear head has exactly the shape of the model's `proj`.
 *
 * Loads from a folder path (Node), a URL of the folder, or in-memory files / browser `File`s, as models do.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, describeValue, isEmotion2VecError, quote } from '../errors.js';
import { decodeNpy, encodeNpy } from '../io/npy.js';
import { Linear } from '../layers/linear.js';
import { ParameterSet } from '../layers/parameters.js';
import { isUnusedLabel, parseTokens } from './config.js';
import { MODEL_FILE_MAX_BYTES, TOKEN_LIMITS } from './limits.js';
import { providerFor, type ModelSource, type SourceOptions } from './sources.js';
import type { StateDict } from './state-dict.js';

export const HEAD_MANIFEST = 'head.json';
export const HEAD_TOKENS = 'tokens.txt';
export const HEAD_FORMAT = 'emotion2vec-head';
export const HEAD_FORMAT_VERSION = 1;
/** A head.json larger than this is not one of ours: refused before it is parsed. */
const MAX_MANIFEST_BYTES = 1 << 20;

/** One dense layer: `weight` is (outFeatures, inFeatures) row-major, as torch.nn.Linear stores it. */
export interface DenseLayerWeights {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

/** A head as plain numbers: what training produces, what the files hold. */
export interface HeadWeights {
  /** Embedding width the head takes (the model's embed_dim). */
  readonly inputDim: number;
  /** Output labels in order. */
  readonly labels: readonly string[];
  /** Dense layers, ReLU between consecutive ones: one layer (linear head) or two (one hidden layer). */
  readonly layers: readonly DenseLayerWeights[];
  /** What training recorded (options, epochs, validation metrics); informative only. */
  readonly training?: Readonly<Record<string, unknown>>;
}

/** What `head.json` holds. */
export interface HeadManifest {
  readonly format: typeof HEAD_FORMAT;
  readonly version: number;
  readonly inputDim: number;
  readonly numLabels: number;
  readonly activation: 'relu';
  readonly layers: readonly {
    readonly inFeatures: number;
    readonly outFeatures: number;
    readonly weight: string;
    readonly bias: string;
  }[];
  readonly training?: Readonly<Record<string, unknown>>;
}

/** A head to load: a folder path (Node), a URL, in-memory files, browser `File`s, or the weights themselves. */
export type HeadSource = ModelSource | HeadWeights;

/** A trained head on the current tfjs backend. */
export class TrainedHead {
  private readonly params = new ParameterSet();
  private readonly layers: Linear[];

  private constructor(readonly weights: HeadWeights) {
    this.layers = weights.layers.map(
      (layer, i) => new Linear(this.params, `layers.${i}`, layer.inFeatures, layer.outFeatures),
    );
    this.params.load(stateDictOf(weights));
  }

  /** Puts a head's weights on the current backend. */
  static fromWeights(weights: HeadWeights): TrainedHead {
    return new TrainedHead(weights);
  }

  /** Output labels, in order. */
  get tokens(): readonly string[] {
    return this.weights.labels;
  }

  get inputDim(): number {
    return this.weights.inputDim;
  }

  /** (B, D) utterance embeddings -> (B, labels) logits. */
  apply(utterance: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() =>
      this.layers.reduce<tf.Tensor>((x, layer, i) => {
        const y = layer.apply(x);
        return i < this.layers.length - 1 ? tf.relu(y) : y;
      }, utterance),
    ) as tf.Tensor2D;
  }

  dispose(): void {
    this.params.dispose();
  }
}

function stateDictOf(weights: HeadWeights): StateDict {
  const dict: StateDict = new Map();
  weights.layers.forEach((layer, i) => {
    dict.set(`layers.${i}.weight`, {
      shape: [layer.outFeatures, layer.inFeatures],
      dtype: 'float32',
      read: () => layer.weight,
    });
    dict.set(`layers.${i}.bias`, { shape: [layer.outFeatures], dtype: 'float32', read: () => layer.bias });
  });
  return dict;
}

/** The head's files, name -> bytes, ready to be written into one folder. */
export function encodeHeadFiles(head: HeadWeights): Map<string, Uint8Array> {
  validateHead(head, 'this head');
  const files = new Map<string, Uint8Array>();
  const manifest: HeadManifest = {
    format: HEAD_FORMAT,
    version: HEAD_FORMAT_VERSION,
    inputDim: head.inputDim,
    numLabels: head.labels.length,
    activation: 'relu',
    layers: head.layers.map((layer, i) => {
      files.set(`layers.${i}.weight.npy`, encodeNpy(layer.weight, [layer.outFeatures, layer.inFeatures]));
      files.set(`layers.${i}.bias.npy`, encodeNpy(layer.bias, [layer.outFeatures]));
      return {
        inFeatures: layer.inFeatures,
        outFeatures: layer.outFeatures,
        weight: `layers.${i}.weight.npy`,
        bias: `layers.${i}.bias.npy`,
      };
    }),
    ...(head.training ? { training: head.training } : {}),
  };
  files.set(HEAD_MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`));
  files.set(HEAD_TOKENS, new TextEncoder().encode(`${head.labels.join('\n')}\n`));
  return files;
}

/**
 * Reads a head from a folder path (Node), a URL, or in-memory files; weights given directly are validated and returned.
 */
export async function readHead(source: HeadSource, options: SourceOptions = {}): Promise<HeadWeights> {
  if (isHeadWeights(source)) {
    validateHead(source, 'the head weights passed in');
    return source;
  }
  let provider;
  try {
    ({ provider } = await providerFor(source, options));
  } catch (error) {
    if (isEmotion2VecError(error) && error.code === 'MODEL_NOT_FOUND') {
      throw new ConfigError(
        'HEAD_INVALID',
        `Head not found: ${describeSource(source)} is not a folder. Pass the folder that train-head wrote (head.json, tokens.txt, layers.*.npy).`,
        { cause: error },
      );
    }
    throw error;
  }
  const where = provider.location;
  const manifestBytes = await provider.read(HEAD_MANIFEST, MAX_MANIFEST_BYTES);
  if (!manifestBytes) throw invalid(`${HEAD_MANIFEST} not found in ${where}; pass the folder that train-head wrote`);
  if (manifestBytes.length > MAX_MANIFEST_BYTES)
    throw invalid(`${HEAD_MANIFEST} in ${where} is ${manifestBytes.length} bytes, too large for a head manifest`);
  const manifest = parseManifest(new TextDecoder().decode(manifestBytes), where);
  const tokensBytes = await provider.read(HEAD_TOKENS, MODEL_FILE_MAX_BYTES['tokens.txt']);
  if (!tokensBytes) throw invalid(`${HEAD_TOKENS} not found in ${where}; it lists the head's labels, one a line`);
  const labels = parseTokens(new TextDecoder().decode(tokensBytes));

  const layers: DenseLayerWeights[] = [];
  for (const spec of manifest.layers) {
    const weight = await readArray(provider, spec.weight, [spec.outFeatures, spec.inFeatures], where);
    const bias = await readArray(provider, spec.bias, [spec.outFeatures], where);
    layers.push({ inFeatures: spec.inFeatures, outFeatures: spec.outFeatures, weight, bias });
  }
  const head: HeadWeights = {
    inputDim: manifest.inputDim,
    labels,
    layers,
    ...(manifest.training ? { training: manifest.training } : {}),
  };
  validateHead(head, where);
  return head;
}

/** Throws HEAD_DIM_MISMATCH unless the head takes embeddings of width `embedDim`. */
export function assertHeadFits(head: HeadWeights, embedDim: number, where = 'this model'): void {
  if (head.inputDim !== embedDim) {
    throw new ConfigError(
      'HEAD_DIM_MISMATCH',
      `The head takes ${head.inputDim}-dim embeddings but ${where} gives ${embedDim}-dim ones. Use the model the head was trained on (train-head --model), or train a head on this model.`,
      { details: { headDim: head.inputDim, modelDim: embedDim } },
    );
  }
}

function isHeadWeights(source: HeadSource): source is HeadWeights {
  return (
    typeof source === 'object' &&
    source !== null &&
    !(source instanceof URL) &&
    !Array.isArray(source) &&
    'layers' in source &&
    Array.isArray((source as HeadWeights).layers) &&
    'inputDim' in source
  );
}

function parseManifest(text: string, where: string): HeadManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalid(`${HEAD_MANIFEST} in ${where} is not valid JSON (${(error as Error).message.slice(0, 200)})`);
  }
  const manifest = value as HeadManifest;
  if (typeof value !== 'object' || value === null || manifest.format !== HEAD_FORMAT) {
    throw invalid(`${HEAD_MANIFEST} in ${where} is not an emotion2vec head (its "format" must be "${HEAD_FORMAT}")`);
  }
  if (manifest.version !== HEAD_FORMAT_VERSION)
    throw invalid(
      `${HEAD_MANIFEST} in ${where} has format version ${String(manifest.version).slice(0, 20)}; this library reads version ${HEAD_FORMAT_VERSION}`,
    );
  const okLayer = (l: HeadManifest['layers'][number]) =>
    typeof l === 'object' &&
    l !== null &&
    isPositiveInteger(l.inFeatures) &&
    isPositiveInteger(l.outFeatures) &&
    isFileName(l.weight) &&
    isFileName(l.bias);
  if (
    !isPositiveInteger(manifest.inputDim) ||
    !Array.isArray(manifest.layers) ||
    manifest.layers.length < 1 ||
    manifest.layers.length > 2 ||
    !manifest.layers.every(okLayer)
  ) {
    throw invalid(
      `${HEAD_MANIFEST} in ${where} needs a positive "inputDim" and 1 or 2 "layers", each with inFeatures, outFeatures and weight/bias .npy file names`,
    );
  }
  return manifest;
}

/** A version 1 .npy header is at most 10 + 65535 bytes. */
const NPY_HEADER_MAX_BYTES = 65_545;

async function readArray(
  provider: Awaited<ReturnType<typeof providerFor>>['provider'],
  name: string,
  shape: number[],
  where: string,
): Promise<Float32Array> {
  // A .npy holds its header (at most a few KiB) and the float32 values the manifest's shape names.
  const bytes = await provider.read(name, NPY_HEADER_MAX_BYTES + 4 * shape.reduce((a, b) => a * b, 1));
  if (!bytes) throw invalid(`${name} not found in ${where}; ${HEAD_MANIFEST} lists it`);
  let array;
  try {
    array = decodeNpy(bytes);
  } catch (error) {
    throw invalid(`${name} in ${where} is not a float32 .npy file (${(error as Error).message.slice(0, 200)})`);
  }
  if (array.shape.length !== shape.length || array.shape.some((d, i) => d !== shape[i])) {
    throw invalid(
      `${name} in ${where} has shape [${array.shape.join(', ')}]; ${HEAD_MANIFEST} says [${shape.join(', ')}]`,
    );
  }
  return array.data;
}

/** Layers chain from inputDim to one output per label, with the sizes their arrays hold. */
/**
 * Why `label` cannot be a head's label, or null when it can. tokens.txt holds one label a line and is read back
 * trimmed, so a label must survive that: no line break or other control character, no white space at its ends;
 * and it must not start with `unuse`, which marks the placeholders results drop.
 */
export function headLabelProblem(label: string): string | null {
  if (label.length === 0) return 'is empty';
  if (label.length > TOKEN_LIMITS.length) return `has ${label.length} characters; at most ${TOKEN_LIMITS.length}`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(label))
    return 'holds a line break, tab or other control character, which tokens.txt (one label a line) cannot keep';
  if (label !== label.trim()) return 'starts or ends with white space, which tokens.txt does not keep';
  if (isUnusedLabel(label)) return 'starts with "unuse", which marks placeholder labels that results drop';
  return null;
}

function validateHead(head: HeadWeights, where: string): void {
  const { layers, labels } = head;
  if (labels.length < 2) throw invalid(`${where} has ${labels.length} label(s); a head needs at least 2`);
  for (const label of labels) {
    const problem = headLabelProblem(label);
    if (problem) throw invalid(`${where} has the label ${quote(label, 60)}, which ${problem}`);
  }
  if (layers.length < 1 || layers.length > 2)
    throw invalid(`${where} has ${layers.length} layers; a head has 1 (linear) or 2 (one hidden layer)`);
  let width = head.inputDim;
  layers.forEach((layer, i) => {
    if (layer.inFeatures !== width)
      throw invalid(`${where}: layer ${i} takes ${layer.inFeatures} inputs but receives ${width}`);
    if (layer.weight.length !== layer.inFeatures * layer.outFeatures || layer.bias.length !== layer.outFeatures) {
      throw invalid(
        `${where}: layer ${i}'s arrays do not hold ${layer.outFeatures} x ${layer.inFeatures} weights and ${layer.outFeatures} biases`,
      );
    }
    width = layer.outFeatures;
  });
  if (width !== labels.length)
    throw invalid(`${where} gives ${width} outputs but tokens.txt lists ${labels.length} labels; they must match`);
}

function invalid(message: string): ConfigError {
  return new ConfigError('HEAD_INVALID', `Invalid classification head: ${message}.`);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 1 << 20;
}

/** A plain file name in the head's own folder: no path separators, so a hostile head.json cannot point elsewhere. */
function isFileName(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.-]{1,100}$/.test(value) && !value.startsWith('.');
}

function describeSource(source: ModelSource): string {
  return typeof source === 'string' ? JSON.stringify(source.slice(0, 200)) : describeValue(source);
}
