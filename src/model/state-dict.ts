/**
 * The container-neutral view of a checkpoint: tensor names mapped to lazily read float32 values.
 * Torch zip files, safetensors and converted models all produce this shape.
 */
import type { StoredDType } from '../io/bytes.js';
import type { StoredTensor } from '../layers/parameters.js';

/**
 * One tensor of a checkpoint, read on demand so that loading never holds two copies of every weight: the
 * registry's StoredTensor (shape, `read`, and where the reader can, `readInto` / `readTransposedInto`), plus the
 * element type as stored. `read` throws a CheckpointError if the bytes are missing or cut short.
 */
export interface TensorEntry extends StoredTensor {
  /** The element type as stored in the file. */
  readonly dtype: StoredDType;
}

/** Tensor name -> tensor, in file order. */
export type StateDict = Map<string, TensorEntry>;

/** What a checkpoint reader found. */
export interface CheckpointContents {
  /** The tensors of the model's state dict (wrappers and `module.` prefixes already removed). */
  readonly tensors: StateDict;
  /** Which container the tensors came from. */
  readonly format: 'torch-zip' | 'safetensors' | 'tfjs-weights';
  /**
   * Human-readable notes on what the reader skipped or unwrapped (e.g. "unwrapped 'state_dict'", "ignored 'epoch'").
   */
  readonly notes: readonly string[];
}
