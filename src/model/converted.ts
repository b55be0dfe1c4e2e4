/**
 * The converted model layout written by `emotion2vec convert` (documented in weights/README.md):
 * `model.json` holds the config's `model_conf`, the labels and a TensorFlow.js weights manifest; the weights
 * follow as float32 shards of at most 4 MiB (`group1-shard1ofN.bin`, ...), the size browsers cache well.
 * Tensors keep their PyTorch names and layouts, so a converted model and its checkpoint load through the
 * same code and give the same numbers.
 */
import { CheckpointError, quote } from '../errors.js';
import { float32ToLittleEndian, toFloat32 } from '../io/bytes.js';
import { configFromModelConf, type ModelDefinition } from './config.js';
import { checkManifestStructure } from './manifest-checks.js';
import type { ParameterSpec } from './parameters.js';
import type { CheckpointContents, StateDict } from './state-dict.js';

export const CONVERTED_MANIFEST = 'model.json';
export const CONVERTED_FORMAT = 'emotion2vec-tfjs';
export const CONVERTED_FORMAT_VERSION = 1;
/** Shard size of tfjs' own converter: small enough for HTTP caches, large enough to keep requests few. */
const SHARD_BYTES = 4 * 1024 * 1024;

/** One entry of a tfjs weights manifest. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: 'float32';
}

/** The content of model.json. */
export interface ConvertedManifest {
  readonly format: typeof CONVERTED_FORMAT;
  readonly formatVersion: number;
  /** config.yaml's `model_conf`, unchanged. */
  readonly modelConf: Record<string, unknown>;
  /** tokens.txt lines, in order (empty for an embedding-only model). */
  readonly tokens: string[];
  /** Where the weights came from. */
  readonly source?: { readonly file: string; readonly format: string };
  readonly weightsManifest: { readonly paths: string[]; readonly weights: WeightSpec[] }[];
}

/** What conversion needs: the definition, its raw `model_conf`, and the weights to write. */
export interface ConversionInput {
  readonly definition: ModelDefinition;
  readonly modelConf: Record<string, unknown>;
  readonly weights: CheckpointContents;
  /** The tensors to write, in order (the network's declared parameters). */
  readonly parameters: readonly ParameterSpec[];
  readonly sourceFile: string;
}

/**
 * Writes a converted model through `writeFile`, shard by shard, so that at most one shard and one tensor are in
 * memory at a time. Returns the manifest that was written as model.json.
 */
export async function writeConvertedModel(
  input: ConversionInput,
  writeFile: (name: string, bytes: Uint8Array) => Promise<void>,
): Promise<ConvertedManifest> {
  const totalBytes = input.parameters.reduce((sum, p) => sum + 4 * p.shape.reduce((a, b) => a * b, 1), 0);
  const shardCount = Math.max(1, Math.ceil(totalBytes / SHARD_BYTES));
  const paths = Array.from({ length: shardCount }, (_, i) => `group1-shard${i + 1}of${shardCount}.bin`);

  let shard = new Uint8Array(Math.min(SHARD_BYTES, totalBytes));
  let shardIndex = 0;
  let filled = 0;
  const flush = async () => {
    await writeFile(paths[shardIndex]!, shard.subarray(0, filled));
    shardIndex++;
    filled = 0;
    const remaining = totalBytes - shardIndex * SHARD_BYTES;
    if (remaining > 0) shard = new Uint8Array(Math.min(SHARD_BYTES, remaining));
  };

  const weights: WeightSpec[] = [];
  for (const parameter of input.parameters) {
    const entry = input.weights.tensors.get(parameter.name);
    if (!entry) throw new CheckpointError('CHECKPOINT_TENSORS', `Cannot convert: ${parameter.name} is missing from the checkpoint.`);
    const values = entry.read();
    const bytes = float32ToLittleEndian(values);
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, shard.length - filled);
      shard.set(bytes.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === shard.length) await flush();
    }
    weights.push({ name: parameter.name, shape: [...parameter.shape], dtype: 'float32' });
  }
  if (filled > 0) await flush();

  const manifest: ConvertedManifest = {
    format: CONVERTED_FORMAT,
    formatVersion: CONVERTED_FORMAT_VERSION,
    modelConf: input.modelConf,
    tokens: [...input.definition.tokens],
    source: { file: input.sourceFile, format: input.weights.format },
    weightsManifest: [{ paths, weights }],
  };
  await writeFile(CONVERTED_MANIFEST, new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`));
  return manifest;
}

/** Reads a converted model: parses model.json, fetches its shards through `readShard`, exposes the tensors. */
export async function readConvertedModel(
  manifestText: string,
  readShard: (name: string) => Promise<Uint8Array>,
): Promise<{ definition: ModelDefinition; modelConf: Record<string, unknown>; weights: CheckpointContents }> {
  const manifest = parseManifest(manifestText);
  const config = configFromModelConf(manifest.modelConf);
  const groups = manifest.weightsManifest;

  const tensors: StateDict = new Map();
  for (const group of groups) {
    const shards: Uint8Array[] = [];
    for (const path of group.paths) shards.push(await readShard(path));
    const data = concatenate(shards);
    let offset = 0;
    for (const weight of group.weights) {
      const count = weight.shape.reduce((a, b) => a * b, 1);
      const start = offset;
      offset += count * 4;
      if (offset > data.length) {
        throw new CheckpointError(
          'CHECKPOINT_TRUNCATED',
          `The weight shards hold ${data.length} bytes but model.json needs ${offset} by ${weight.name}: a shard is missing or cut short; convert again.`,
        );
      }
      tensors.set(weight.name, { shape: weight.shape, dtype: 'float32', read: () => toFloat32(data.subarray(start, start + count * 4), 'float32', count) });
    }
  }
  return {
    definition: { config, tokens: manifest.tokens },
    modelConf: manifest.modelConf,
    weights: { tensors, format: 'tfjs-weights', notes: [] },
  };
}

function parseManifest(text: string): ConvertedManifest {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `model.json is not valid JSON: ${quote((error as Error).message, 300)}`, { cause: error });
  }
  const m = manifest as Partial<ConvertedManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== CONVERTED_FORMAT) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `model.json is not an ${CONVERTED_FORMAT} model (its "format" is ${quote(m?.format)}); convert the checkpoint with \`emotion2vec convert\`.`);
  }
  if (m.formatVersion !== CONVERTED_FORMAT_VERSION) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `model.json has format version ${quote(m.formatVersion)}; this library reads version ${CONVERTED_FORMAT_VERSION}. Convert the checkpoint again with this version.`);
  }
  checkManifestStructure(m);
  const weightsOk =
    Array.isArray(m.weightsManifest) &&
    m.weightsManifest.every(
      (g) =>
        Array.isArray(g.paths) &&
        g.paths.every((p) => typeof p === 'string' && /^[\w.-]+$/.test(p)) &&
        Array.isArray(g.weights) &&
        g.weights.every((w) => typeof w.name === 'string' && w.dtype === 'float32' && Array.isArray(w.shape) && w.shape.every((d) => Number.isInteger(d) && d >= 0)),
    );
  if (!weightsOk || typeof m.modelConf !== 'object' || m.modelConf === null || !Array.isArray(m.tokens)) {
    throw new CheckpointError('CHECKPOINT_FORMAT', 'model.json is incomplete or damaged (modelConf, tokens or weightsManifest is missing or malformed); convert the checkpoint again.');
  }
  return m as ConvertedManifest;
}

function concatenate(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

