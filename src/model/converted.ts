/**
 * The converted model layout written by `emotion2vec convert` (documented in weights/README.md):
 * `model.json` holds the config's `model_conf`, the labels and a TensorFlow.js weights manifest; the weights
 * follow as shards of at most 4 MiB (`group1-shard1ofN.bin`, ...), the size browsers cache well. Tensors are
 * stored as float32, or smaller with `--dtype float16|int8` (src/model/weight-dtypes.ts: the manifest entry's
 * `quantization` says how) and turned back into float32 as they are read. Tensors keep their PyTorch names; since
 * format version 3, weight matrices (2-D, float32 or float16) are stored transposed (`"layout": "transposed"`),
 * the layout the Linear layers compute with, so that loading them needs no transpose (which took most of a large
 * model's load time on wasm). Readers still hand out PyTorch's layout to whoever asks for it.
 *
 * Each weight records the XXH32 checksum of its stored bytes (`"checksum": "xxh32:<8 hex>"`, io/checksum.ts), taken
 * as conversion writes them and checked as a load reads them: a byte changed in a shard since conversion is a
 * `MODEL_INTEGRITY` error naming the tensor and the shard, never a silently different prediction. It costs one pass
 * over bytes already in memory (about 2 GB/s here: 0.6 s for the large model). Folders converted before checksums
 * existed load unchecked.
 */
import { CheckpointError, quote } from '../errors.js';
import { float32ToLittleEndian, HOST_IS_LITTLE_ENDIAN } from '../io/bytes.js';
import { xxh32 } from '../io/checksum.js';
import { memoryAccess, type RandomAccess } from '../io/random-access.js';
import {
  checkQuantization,
  decodeWeights,
  encodeWeights,
  storageFor,
  storedBytes,
  type Quantization,
  type WeightDType,
} from './weight-dtypes.js';
import { configFromModelConf, type ModelDefinition } from './config.js';
import { checkManifestStructure } from './manifest-checks.js';
import type { ParameterSpec } from '../layers/parameters.js';
import type { CheckpointContents, StateDict } from './state-dict.js';

export const CONVERTED_MANIFEST = 'model.json';
export const CONVERTED_FORMAT = 'emotion2vec-tfjs';
/**
 * Version 3 stores weight matrices transposed (`layout`); version 2 added stored types other than float32
 * (`quantization`); version 1 is float32 in PyTorch's layout. All three are read.
 */
export const CONVERTED_FORMAT_VERSION = 3;
const READABLE_FORMAT_VERSIONS: readonly unknown[] = [1, 2, 3];
/** The stored layout of a 2-D tensor: its transpose, (in, out) for a PyTorch (out, in) weight. */
const TRANSPOSED = 'transposed';
/** Shard size of tfjs' own converter: small enough for HTTP caches, large enough to keep requests few. */
const SHARD_BYTES = 4 * 1024 * 1024;

/** One entry of a tfjs weights manifest. */
export interface WeightSpec {
  readonly name: string;
  readonly shape: number[];
  /** The type the tensor is read as (always float32). */
  readonly dtype: 'float32';
  /** How it is stored when not as float32. */
  readonly quantization?: Quantization;
  /** `transposed`: a 2-D tensor stored as its transpose (shape still gives PyTorch's order). */
  readonly layout?: typeof TRANSPOSED;
  /** `xxh32:<8 hex digits>` of the tensor's stored bytes, checked when they are read. */
  readonly checksum?: string;
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
  /** How to store the weights (default float32). */
  readonly dtype?: WeightDType;
}

/**
 * Writes a converted model through `writeFile`, shard by shard, so that at most one shard and one tensor are in
 * memory at a time. Returns the manifest that was written as model.json.
 */
export async function writeConvertedModel(
  input: ConversionInput,
  writeFile: (name: string, bytes: Uint8Array) => Promise<void>,
): Promise<ConvertedManifest> {
  const dtype = input.dtype ?? 'float32';
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  const totalBytes = input.parameters.reduce(
    (sum, p) => sum + storedBytes(storageFor(dtype, p.shape), count(p.shape)),
    0,
  );
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
    if (!entry)
      throw new CheckpointError(
        'CHECKPOINT_TENSORS',
        `Cannot convert: ${parameter.name} is missing from the checkpoint.`,
      );
    const storage = storageFor(dtype, parameter.shape);
    // int8's scales are per PyTorch row: int8 matrices keep PyTorch's layout (they are dequantized in JavaScript
    // anyway).
    const transposed = parameter.shape.length === 2 && storage !== 'int8';
    const values = transposed ? transpose2d(entry.read(), parameter.shape[0]!, parameter.shape[1]!) : entry.read();
    const encoded = storage ? encodeWeights(values, parameter.shape, storage, parameter.name) : null;
    const bytes = encoded ? encoded.bytes : float32ToLittleEndian(values);
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(bytes.length - offset, shard.length - filled);
      shard.set(bytes.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === shard.length) await flush();
    }
    weights.push({
      name: parameter.name,
      shape: [...parameter.shape],
      dtype: 'float32',
      ...(encoded ? { quantization: encoded.quantization } : {}),
      ...(transposed ? { layout: TRANSPOSED } : {}),
      checksum: checksumOf(bytes),
    });
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

/**
 * Where shard bytes come from: a function that reads a shard whole (URLs, in-memory files), or shards opened
 * for reads by position (local files), from which every tensor is read straight into its own buffer.
 */
export type ShardReader =
  ((name: string) => Promise<Uint8Array>) | { readonly open: (name: string) => Promise<RandomAccess> };

/**
 * Reads a converted model: parses model.json, opens its shards through `shards`, exposes the tensors. Nothing is
 * concatenated: a tensor is read from the shards that hold it into one buffer (on wasm, its place on the backend:
 * see `StoredTensor.readInto`). Shards read whole are let go as soon as every tensor in them has been read; shards
 * opened by position are never held in memory at all. A tensor is therefore read once; reading it again is a
 * CheckpointError.
 */
export async function readConvertedModel(
  manifestText: string,
  shards: ShardReader,
  /** Where the folder is, for the message a failed checksum gives. */
  location = 'the converted folder',
): Promise<{ definition: ModelDefinition; modelConf: Record<string, unknown>; weights: CheckpointContents }> {
  const manifest = parseManifest(manifestText);
  const config = configFromModelConf(manifest.modelConf);
  const open = typeof shards === 'function' ? async (name: string) => memoryAccess(await shards(name)) : shards.open;

  const tensors: StateDict = new Map();
  for (const group of manifest.weightsManifest) {
    const sources: (RandomAccess | null)[] = [];
    const shardStarts: number[] = [];
    let total = 0;
    for (const path of group.paths) {
      const shard = await open(path);
      sources.push(shard);
      shardStarts.push(total);
      total += shard.size;
    }
    // Planned first, so every shard knows how many tensors still need it.
    const unread = sources.map(() => 0);
    const planned = [];
    let offset = 0;
    for (const weight of group.weights) {
      const count = weight.shape.reduce((a, b) => a * b, 1);
      const start = offset;
      offset += weight.quantization ? storedBytes(weight.quantization.dtype, count) : count * 4;
      if (offset > total) {
        throw new CheckpointError(
          'CHECKPOINT_TRUNCATED',
          `The weight shards hold ${total} bytes but model.json needs ${offset} by ${weight.name}: a shard is missing or cut short; convert again.`,
        );
      }
      const first = shardIndexAt(shardStarts, start);
      const last = offset === start ? first : shardIndexAt(shardStarts, offset - 1);
      for (let i = first; i <= last; i++) unread[i]!++;
      planned.push({ weight, count, start, end: offset, first, last });
    }
    const shardSet = { sources, shardStarts };
    /** The stored bytes of `weight` against its recorded checksum (absent in folders converted before them). */
    const verify = (weight: WeightSpec, stored: Uint8Array, first: number): void => {
      if (weight.checksum === undefined || checksumOf(stored) === weight.checksum) return;
      throw new CheckpointError(
        'MODEL_INTEGRITY',
        `The weight shard ${quote(group.paths[first], 100)} of ${quote(location, 300)} changed after conversion: the bytes of ${quote(weight.name, 200)} no longer match their recorded checksum. Delete the converted folder and convert again (a model named by id is converted again from its downloaded files on its next load).`,
        { details: { tensor: weight.name, shard: group.paths[first], location } },
      );
    };
    for (const { weight, count, start, end, first, last } of planned) {
      let done = false;
      const claim = () => {
        if (done)
          throw new CheckpointError(
            'CHECKPOINT_TENSORS',
            `${weight.name} was already read from the converted model and its shard let go; load the model again.`,
          );
        done = true;
      };
      const release = () => {
        for (let i = first; i <= last; i++) if (--unread[i]! === 0) sources[i] = null;
      };
      /** The values in the order they are stored (PyTorch's, or its transpose for a `transposed` entry). */
      const readStoredInto = (target: Float32Array): void => {
        claim();
        if (weight.quantization) {
          const stored = new Uint8Array(end - start);
          copyRange(shardSet, start, stored, first, last, weight.name);
          release();
          verify(weight, stored, first);
          decodeWeights(stored, weight.quantization, count, target);
          return;
        }
        // float32 as stored: the shard bytes go straight into the target's bytes.
        const stored = new Uint8Array(target.buffer, target.byteOffset, count * 4);
        copyRange(shardSet, start, stored, first, last, weight.name);
        release();
        verify(weight, stored, first);
        if (!HOST_IS_LITTLE_ENDIAN) swapBytes32(target);
      };
      const [rows, columns] = weight.shape as [number, number];
      /** The transpose of what is stored, into `target`: through one scratch copy, transposed in cache-sized tiles. */
      const readTransposeOfStored = (target: Float32Array) => {
        const stored = new Float32Array(count);
        readStoredInto(stored);
        const [storedRows, storedColumns] = weight.layout === TRANSPOSED ? [columns, rows] : [rows, columns];
        transpose2d(stored, storedRows, storedColumns, target);
      };
      const quantization = weight.quantization;
      const int8 = quantization?.dtype === 'int8' ? quantization : null;
      tensors.set(weight.name, {
        shape: weight.shape,
        dtype: quantization?.dtype ?? 'float32',
        read: () => {
          const values = new Float32Array(count);
          (weight.layout === TRANSPOSED ? readTransposeOfStored : readStoredInto)(values);
          return values;
        },
        readInto: weight.layout === TRANSPOSED ? readTransposeOfStored : readStoredInto,
        // A Linear layer computes with the transpose: transposed folders store it so; int8 matrices keep PyTorch's
        // layout (their scales are per row), and are transposed here as they are dequantized, so that they load
        // into their place like the others instead of through a transpose on the backend.
        ...(weight.layout === TRANSPOSED
          ? { readTransposedInto: readStoredInto }
          : int8 && weight.shape.length === 2
            ? { readTransposedInto: readTransposeOfStored }
            : {}),
        ...(int8
          ? {
              int8Stored: true,
              // The int8 values as stored, for int8 products (matrices and convolutions alike, one scale per output
              // channel): the shard bytes go straight into `values`.
              readInt8Into: (values: Int8Array, scales: Float32Array) => {
                claim();
                copyRange(
                  shardSet,
                  start,
                  new Uint8Array(values.buffer, values.byteOffset, count),
                  first,
                  last,
                  weight.name,
                );
                release();
                scales.set(int8.scales);
              },
            }
          : {}),
      });
    }
  }
  return {
    definition: { config, tokens: manifest.tokens },
    modelConf: manifest.modelConf,
    weights: { tensors, format: 'tfjs-weights', notes: [] },
  };
}

/** The shard that holds byte `position` of the group (shards in order, `starts` ascending). */
function shardIndexAt(starts: readonly number[], position: number): number {
  let index = 0;
  while (index + 1 < starts.length && starts[index + 1]! <= position) index++;
  return index;
}

/** Copies bytes [start, start + target.length) of the group (shards first..last) into `target`. */
function copyRange(
  group: { readonly sources: readonly (RandomAccess | null)[]; readonly shardStarts: readonly number[] },
  start: number,
  target: Uint8Array,
  first: number,
  last: number,
  name: string,
): void {
  const end = start + target.length;
  for (let i = first; i <= last; i++) {
    const shard = group.sources[i];
    const shardStart = group.shardStarts[i]!;
    const from = Math.max(start, shardStart);
    const to = Math.min(end, shardStart + (shard?.size ?? 0));
    if (to <= from) continue;
    const read = shard ? shard.readInto(from - shardStart, target.subarray(from - start, to - start)) : 0;
    if (read !== to - from) {
      throw new CheckpointError(
        'CHECKPOINT_TRUNCATED',
        `The weight shard holding ${quote(name, 200)} was cut short or changed while it was read; convert again.`,
      );
    }
  }
}

/**
 * The transpose of a (rows, columns) row-major matrix, into `out`. Blocked, so that both sides are walked in
 * cache-sized tiles (a plain double loop writes one element per cache line on one side).
 */
export function transpose2d(
  values: Float32Array,
  rows: number,
  columns: number,
  out: Float32Array = new Float32Array(rows * columns),
): Float32Array {
  const TILE = 32;
  for (let r0 = 0; r0 < rows; r0 += TILE) {
    const r1 = Math.min(r0 + TILE, rows);
    for (let c0 = 0; c0 < columns; c0 += TILE) {
      const c1 = Math.min(c0 + TILE, columns);
      for (let r = r0; r < r1; r++) {
        for (let c = c0, from = r * columns + c0, to = c0 * rows + r; c < c1; c++, from++, to += rows)
          out[to] = values[from]!;
      }
    }
  }
  return out;
}

/** Big-endian hosts only: float32 values stored little-endian, swapped in place. */
function swapBytes32(values: Float32Array): void {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  for (let i = 0; i < bytes.length; i += 4) {
    const [a, b] = [bytes[i]!, bytes[i + 1]!];
    bytes[i] = bytes[i + 3]!;
    bytes[i + 1] = bytes[i + 2]!;
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

function parseManifest(text: string): ConvertedManifest {
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json is not valid JSON: ${quote((error as Error).message, 300)}`,
      { cause: error },
    );
  }
  const m = manifest as Partial<ConvertedManifest> | null;
  if (!m || typeof m !== 'object' || m.format !== CONVERTED_FORMAT) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json is not an ${CONVERTED_FORMAT} model (its "format" is ${quote(m?.format)}); convert the checkpoint with \`emotion2vec convert\`.`,
    );
  }
  if (!READABLE_FORMAT_VERSIONS.includes(m.formatVersion)) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json has format version ${quote(m.formatVersion)}; this library reads versions ${READABLE_FORMAT_VERSIONS.join(', ')}. Convert the checkpoint again with this version.`,
    );
  }
  checkManifestStructure(m);
  const weightsOk =
    Array.isArray(m.weightsManifest) &&
    m.weightsManifest.every(
      (g) =>
        Array.isArray(g.paths) &&
        g.paths.every((p) => typeof p === 'string' && /^[\w.-]+$/.test(p)) &&
        Array.isArray(g.weights) &&
        g.weights.every(
          (w) =>
            typeof w.name === 'string' &&
            w.dtype === 'float32' &&
            Array.isArray(w.shape) &&
            w.shape.every((d) => Number.isInteger(d) && d >= 0),
        ),
    );
  if (!weightsOk || typeof m.modelConf !== 'object' || m.modelConf === null || !Array.isArray(m.tokens)) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      'model.json is incomplete or damaged (modelConf, tokens or weightsManifest is missing or malformed); convert the checkpoint again.',
    );
  }
  // The stored types, checked and typed (int8 scales: one finite scale per output channel).
  const weightsManifest = m.weightsManifest!.map((group) => ({
    paths: group.paths,
    weights: group.weights.map((w) => {
      const quantization = checkQuantization((w as { quantization?: unknown }).quantization, w.name, w.shape);
      const layout = checkLayout((w as { layout?: unknown }).layout, w.name, w.shape, quantization);
      const checksum = checkChecksum((w as { checksum?: unknown }).checksum, w.name);
      return {
        name: w.name,
        shape: w.shape,
        dtype: w.dtype,
        ...(quantization ? { quantization } : {}),
        ...(layout ? { layout } : {}),
        ...(checksum ? { checksum } : {}),
      };
    }),
  }));
  return { ...(m as ConvertedManifest), weightsManifest };
}

/** The checksum written for stored bytes: `xxh32:` and 8 lower-case hex digits. */
function checksumOf(bytes: Uint8Array): string {
  return `xxh32:${xxh32(bytes).toString(16).padStart(8, '0')}`;
}

/** A manifest entry's `checksum`: absent (converted before checksums), or `xxh32:` and 8 hex digits. */
function checkChecksum(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^xxh32:[0-9a-f]{8}$/.test(value)) return value;
  throw new CheckpointError(
    'CHECKPOINT_FORMAT',
    `model.json is damaged: the checksum of ${quote(name, 200)} is ${quote(value, 100)} (this library writes "xxh32:" and 8 hex digits). Convert the checkpoint again with \`emotion2vec convert\`.`,
  );
}

/** A manifest entry's `layout`: absent (PyTorch's), or `transposed` on a 2-D tensor that is not int8. */
function checkLayout(
  value: unknown,
  name: string,
  shape: readonly number[],
  quantization: Quantization | undefined,
): typeof TRANSPOSED | undefined {
  if (value === undefined) return undefined;
  const fail = (what: string): never => {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json is damaged: the layout of ${quote(name, 200)} ${what}. Convert the checkpoint again with \`emotion2vec convert\`.`,
    );
  };
  if (value !== TRANSPOSED) return fail(`is ${quote(value, 100)} (this library reads "${TRANSPOSED}")`);
  if (shape.length !== 2)
    return fail(`is "${TRANSPOSED}" on a tensor of rank ${shape.length} (only matrices are stored transposed)`);
  if (quantization?.dtype === 'int8')
    return fail(`is "${TRANSPOSED}" on an int8 tensor (int8 matrices keep PyTorch's layout)`);
  return TRANSPOSED;
}
