/**
 * The container-neutral view of a checkpoint: tensor names mapped to lazily read float32 values.
 * Torch zip files, safetensors and converted models all produce this shape.
 */

/** Element types that checkpoint files may store. Everything is read as float32. */
export type StoredDType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** One tensor of a checkpoint, read on demand so that loading never holds two copies of every weight. */
export interface TensorEntry {
  /** Logical shape in PyTorch's order (row-major). */
  readonly shape: readonly number[];
  /** The element type as stored in the file. */
  readonly dtype: StoredDType;
  /** The values as float32 in row-major order. Throws a CheckpointError if the bytes are missing or cut short. */
  read(): Float32Array;
  /** Where the reader can: the same values written into `target` (exactly the element count), with no buffer of its own. */
  readInto?(target: Float32Array): void;
  /** 2-D tensors stored transposed (converted format 3): the transpose's values, as stored, written into `target`. */
  readTransposedInto?(target: Float32Array): void;
}

/** Tensor name -> tensor, in file order. */
export type StateDict = Map<string, TensorEntry>;

/** What a checkpoint reader found. */
export interface CheckpointContents {
  /** The tensors of the model's state dict (wrappers and `module.` prefixes already removed). */
  readonly tensors: StateDict;
  /** Which container the tensors came from. */
  readonly format: 'torch-zip' | 'safetensors' | 'tfjs-weights';
  /** Human-readable notes on what the reader skipped or unwrapped (e.g. "unwrapped 'state_dict'", "ignored 'epoch'"). */
  readonly notes: readonly string[];
}
