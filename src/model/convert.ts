/**
 * Conversion, the one way a model becomes a converted folder (model.json + weight shards, converted.ts): its
 * contents are read, checked against the network's parameter list (every tensor the network declares is there
 * with its shape), and written into a folder. `emotion2vec convert`, the Node model cache (hub-cache.ts) and the
 * page model of `emotion2vec serve` all call it. Node only (it writes files); no TensorFlow.js backend is needed.
 *
 * The folder is written so that it is never taken for a whole model before it is one: an earlier model.json is
 * removed first, the shards are written, and model.json comes last, written beside its name and renamed into
 * place. A folder with a model.json therefore holds every shard it lists, whenever the writing stops.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { quote, UsageError } from '../errors.js';
import { isHttpUrl } from '../io/url.js';
import type { LoadReport } from '../layers/parameters.js';
import { CONVERTED_MANIFEST, writeConvertedModel, type ConvertedManifest } from './converted.js';
import { Emotion2VecNetwork } from './network.js';
import { readModelContents, type ModelSource, type SourceOptions } from './sources.js';
import type { WeightDType } from './weight-dtypes.js';

export interface ConvertOptions extends SourceOptions {
  /** How to store the weights (weight-dtypes.ts); float32 when absent. */
  readonly dtype?: WeightDType;
}

/** What a conversion read and wrote. */
export interface ConversionReport {
  /** Where the model was read from. */
  readonly location: string;
  /** The folder written. */
  readonly folder: string;
  /** What was written as model.json. */
  readonly manifest: ConvertedManifest;
  /** Bytes written, shards and model.json together. */
  readonly bytes: number;
  /** Weight values written (the network's parameter count). */
  readonly weightCount: number;
  /** How the checkpoint's tensors matched the network: loaded, and skipped (training-only or unused). */
  readonly tensors: LoadReport;
  /** The labels written (tokens.txt), empty for an embedding-only model. */
  readonly labels: readonly string[];
  /** What the readers noted (wrappers unwrapped, entries ignored, labels that do not match the head). */
  readonly notes: readonly string[];
}

/**
 * Converts the model at `source` (a checkpoint folder or file, a converted folder, a URL, files) into `folder`,
 * created when missing. Nothing is written before the contents have passed the check.
 *
 * @throws CheckpointError / ConfigError when the model cannot be read or lacks a tensor the network needs;
 *   UsageError `OUTPUT_WRITE_FAILED` when `folder` is a file or cannot be written.
 */
export async function convertModel(
  source: ModelSource,
  folder: string,
  options: ConvertOptions = {},
): Promise<ConversionReport> {
  const contents = await readModelContents(source, options);
  const network = new Emotion2VecNetwork(contents.definition);
  const tensors = network.params.verify(contents.weights.tensors);
  // The shards are read while the new ones are written: a converted folder cannot be written over itself.
  const local = typeof source === 'string' && !isHttpUrl(source);
  if (contents.layout === 'converted' && local && resolve(contents.location) === resolve(folder)) {
    throw new UsageError(
      'OUTPUT_WRITE_FAILED',
      `${quote(folder)} is the converted model being read; name another folder for the conversion.`,
    );
  }
  await prepareFolder(folder);
  let bytes = 0;
  const manifest = await writeConvertedModel(
    {
      definition: contents.definition,
      modelConf: contents.modelConf,
      weights: contents.weights,
      parameters: network.params.specs(),
      sourceFile: typeof source === 'string' || source instanceof URL ? String(source) : contents.location,
      dtype: options.dtype ?? 'float32',
    },
    async (name, data) => {
      bytes += data.length;
      const path = join(folder, name);
      const written = name === CONVERTED_MANIFEST ? `${path}.partial` : path;
      await writeFile(written, data).catch((error: unknown) => {
        throw writeFailure(`Cannot write ${name} into ${quote(folder)}`, error);
      });
      if (written !== path) {
        await rename(written, path).catch((error: unknown) => {
          throw writeFailure(`Cannot write ${name} into ${quote(folder)}`, error);
        });
      }
    },
  );
  return {
    location: contents.location,
    folder,
    manifest,
    bytes,
    weightCount: network.params.count(),
    tensors,
    labels: contents.definition.tokens,
    notes: contents.weights.notes,
  };
}

/** The folder, created when missing and no longer holding a model.json; an existing file there is a usage error. */
async function prepareFolder(folder: string): Promise<void> {
  const existing = await stat(folder).catch(() => null);
  if (existing && !existing.isDirectory()) {
    throw new UsageError(
      'OUTPUT_WRITE_FAILED',
      `${quote(folder)} is an existing file, not a folder. Name a new or existing folder for the converted model.`,
    );
  }
  await mkdir(folder, { recursive: true }).catch((error: unknown) => {
    throw writeFailure(`Cannot create the folder ${quote(folder)}`, error);
  });
  await rm(join(folder, CONVERTED_MANIFEST), { force: true }).catch((error: unknown) => {
    throw writeFailure(`Cannot replace ${CONVERTED_MANIFEST} in ${quote(folder)}`, error);
  });
}

function writeFailure(what: string, error: unknown): UsageError {
  const reason = quote((error as Error)?.message ?? String(error), 300);
  return new UsageError('OUTPUT_WRITE_FAILED', `${what}: ${reason}. Choose a folder you can write to.`, {
    cause: error,
  });
}
