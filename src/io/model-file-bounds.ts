/**
 * The largest size of each model file, in bytes: what a local read, a URL read and a hub download all hold a file to,
 * before anything is allocated from it (docs/security.md). Far above any published emotion2vec checkpoint.
 */
export const MODEL_FILE_MAX_BYTES = {
  'config.yaml': 1024 * 1024,
  'tokens.txt': 1024 * 1024,
  'model.json': 16 * 1024 * 1024,
  /** A model.pt / .safetensors (emotion2vec+ large is about 1.95 GB in float32). */
  weights: 2 ** 31 - 1,
} as const;

/** The bound of a model file by its name: config.yaml, tokens.txt, a .json manifest, else a weights file. */
export function modelFileBound(name: string): number {
  if (name === 'config.yaml' || name === 'tokens.txt') return MODEL_FILE_MAX_BYTES[name];
  if (name.endsWith('.json')) return MODEL_FILE_MAX_BYTES['model.json'];
  return MODEL_FILE_MAX_BYTES.weights;
}
