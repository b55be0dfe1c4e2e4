/**
 * The bounds every model file is held to before anything is allocated from it. Each bound is far above any
 * published emotion2vec model (base: depth 8, D 768; large: depth 24, D 1024) and far below what would
 * exhaust a machine, so a hostile file gets a typed error in milliseconds instead of an abort or a hang.
 * docs/security.md lists them.
 */

/** Largest size of each model file read whole, in bytes (declared with the reads, in io/; the hub holds downloads to it). */
export { MODEL_FILE_MAX_BYTES } from '../io/model-file-bounds.js';

/** Sizes in config.yaml's model_conf: each must be at most this. */
export const CONFIG_LIMITS = {
  embed_dim: 8192,
  num_heads: 256,
  depth: 128,
  prenet_depth: 64,
  mlp_ratio: 64,
  num_extra_tokens: 1024,
  conv_pos_width: 4096,
  conv_pos_groups: 8192,
  conv_pos_depth: 64,
  num_alibi_heads: 256,
  /** Layers of the CNN feature extractor (emotion2vec has 7). */
  featureEncoderLayers: 64,
  featureEncoderChannels: 8192,
  featureEncoderKernel: 4096,
  featureEncoderStride: 4096,
  /** Weights the whole network may declare (large has about 3.2e8). */
  parameters: 2_000_000_000,
} as const;

/** Labels in tokens.txt / model.json: count and length of each. */
export const TOKEN_LIMITS = { count: 100_000, length: 1000 } as const;

/** Nesting depth of config.yaml and model.json values (the real files nest 3 deep). */
export const MAX_NESTING_DEPTH = 64;

/** Converted models: shards listed (the large model needs about 300 at 4 MiB each). */
export const MAX_SHARDS = 100_000;

/** Dimensions of one tensor. */
export const MAX_TENSOR_RANK = 8;

/**
 * Depth of the deepest array/object in `value`, walked without recursion and stopping as soon as `limit` is
 * passed (so a 1,000,000-deep value costs `limit` steps, not a stack overflow). Shared references are walked
 * once per path only up to the limit; a depth bound also bounds that.
 */
export function exceedsNesting(value: unknown, limit = MAX_NESTING_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let visited = 0;
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth >= limit) return true;
    // A wide shared graph could still be walked many times; a value this big is not a config either.
    if (++visited > 1_000_000) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}
