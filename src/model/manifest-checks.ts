/**
 * Structural checks of a converted model's `model.json`, run before any shard is read: every field has the
 * type the reader assumes (so `[null]` or numbers as labels are typed errors, not crashes later), each shard is
 * listed once, and the bytes the listed tensors need bound how much shard data is read at all.
 */
import { CheckpointError, quote } from '../errors.js';
import { checkTokens } from './config.js';
import { exceedsNesting, MAX_NESTING_DEPTH, MAX_SHARDS, MAX_TENSOR_RANK } from './limits.js';

/** Bytes per element of the dtypes a manifest may name; an unknown dtype counts as the widest (a safe upper bound). */
const ELEMENT_BYTES: Record<string, number> = {
  float32: 4,
  int32: 4,
  float16: 2,
  int16: 2,
  uint16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
const WIDEST_ELEMENT = 4;

/** What the checks learnt: the shards in order and the most bytes they may hold together. */
export interface ManifestBudget {
  readonly shardPaths: readonly string[];
  /** Sum of the bytes every listed tensor needs: shard data beyond this is never read. */
  readonly shardBytes: number;
}

/** Checks the parsed model.json. Throws a CheckpointError (or a ConfigError for labels) naming the field. */
export function checkManifestStructure(manifest: unknown): ManifestBudget {
  const fail = (what: string): never => {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `model.json is damaged: ${what}. Convert the checkpoint again with \`emotion2vec convert\`.`,
    );
  };
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest))
    return fail(`it holds ${quote(manifest)}, not an object`);
  if (exceedsNesting(manifest)) return fail(`it nests values more than ${MAX_NESTING_DEPTH} levels deep`);
  const { weightsManifest, tokens, modelConf } = manifest as Record<string, unknown>;
  if (typeof modelConf !== 'object' || modelConf === null || Array.isArray(modelConf))
    fail(`"modelConf" is ${quote(modelConf)}, not an object`);
  checkTokens(tokens, 'model.json "tokens"');
  if (!Array.isArray(weightsManifest)) return fail(`"weightsManifest" is ${quote(weightsManifest)}, not a list`);

  const shardPaths: string[] = [];
  const seen = new Set<string>();
  let shardBytes = 0;
  for (const [g, group] of weightsManifest.entries()) {
    if (typeof group !== 'object' || group === null)
      return fail(`weightsManifest[${g}] is ${quote(group)}, not an object`);
    const { paths, weights } = group as Record<string, unknown>;
    if (!Array.isArray(paths) || !Array.isArray(weights))
      return fail(`weightsManifest[${g}] needs "paths" and "weights" lists`);
    for (const path of paths) {
      // Plain file names only: a shard can never be read from outside the model's folder.
      if (typeof path !== 'string' || !/^[\w.-]{1,255}$/.test(path) || path === '.' || path === '..')
        return fail(`shard path ${quote(path)} is not a plain file name`);
      if (seen.has(path)) return fail(`the shard ${quote(path)} is listed more than once`);
      seen.add(path);
      shardPaths.push(path);
      if (shardPaths.length > MAX_SHARDS) return fail(`it lists more than ${MAX_SHARDS} shards`);
    }
    for (const [w, weight] of weights.entries()) {
      if (typeof weight !== 'object' || weight === null)
        return fail(`weightsManifest[${g}].weights[${w}] is ${quote(weight)}, not an object`);
      const { name, shape, dtype } = weight as Record<string, unknown>;
      if (typeof name !== 'string' || name.length === 0 || name.length > 1000)
        return fail(`weightsManifest[${g}].weights[${w}].name is ${quote(name)}`);
      if (typeof dtype !== 'string') return fail(`the dtype of ${quote(name)} is ${quote(dtype)}`);
      if (
        !Array.isArray(shape) ||
        shape.length > MAX_TENSOR_RANK ||
        !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
      ) {
        return fail(`the shape of ${quote(name)} is not a list of at most ${MAX_TENSOR_RANK} non-negative integers`);
      }
      const quantization = (weight as { quantization?: { dtype?: unknown } }).quantization;
      const stored = typeof quantization?.dtype === 'string' ? quantization.dtype : dtype;
      shardBytes += (shape as number[]).reduce((a, b) => a * b, 1) * (ELEMENT_BYTES[stored] ?? WIDEST_ELEMENT);
      if (!Number.isSafeInteger(shardBytes)) return fail(`its tensors need more than 2^53 bytes`);
    }
  }
  return { shardPaths, shardBytes };
}
