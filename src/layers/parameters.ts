/**
 * Named parameters, declared by the layers and filled from a checkpoint.
 *
 * Layers declare each tensor they need (PyTorch name and shape) while the model is being built, before any
 * weight is read. That single list is then checked against the checkpoint in one pass, so a wrong file gets
 * one error listing every missing or mis-shaped tensor, and only then are the tensors read, one at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  filledTensor,
  int8Weight,
  int8WeightBytes,
  reserveSideBySide,
  type HeapBlock,
  type Int8WeightUse,
} from '../backend/kernels.js';
import { CheckpointError, UsageError } from '../errors.js';

/**
 * One stored tensor as a checkpoint reader offers it: its shape, and its values read on demand. Checkpoint
 * readers (src/model/checkpoint) produce these; the registry only needs this much of them.
 */
export interface StoredTensor {
  /** Logical shape in PyTorch's order (row-major). */
  readonly shape: readonly number[];
  /** The values as float32 in row-major order. */
  read(): Float32Array;
  /**
   * Writes the values (float32, row-major) into `target`, which has exactly the tensor's element count. Readers
   * that can read straight from a file offer it, so the values land in the backend's own buffer (the wasm heap)
   * without a JavaScript copy in between.
   */
  readInto?(target: Float32Array): void;
  /**
   * For a 2-D tensor stored transposed (converted weights): the transpose's values (shape reversed, row-major)
   * written into `target`, as cheaply as `readInto`.
   */
  readTransposedInto?(target: Float32Array): void;
  /**
   * For a weight matrix that may compute in int8: its values as int8 with one scale per output channel
   * (`value = values[i] * scales[row]`, PyTorch's (out, in) layout, row-major) written into `values` (exactly
   * the element count) and `scales` (one per row). Offered by int8 folders (`convert --dtype int8`) and, when a
   * model computes in int8, by the model for the float32 matrices it quantizes at load.
   */
  readInt8Into?(values: Int8Array, scales: Float32Array): void;
  /** Whether `readInt8Into` gives the values as stored (an int8 folder), not rounded from float32 as they are read. */
  readonly int8Stored?: boolean;
}

/** Tensor name -> stored tensor. */
export type StoredTensors = ReadonlyMap<string, StoredTensor>;

/**
 * The `prepare` of a weight matrix that a layer computes with transposed (Linear's (out, in) -> (in, out)).
 * Declaring it by this function, not an equivalent one, lets a converted model that already stores the matrix
 * transposed load it as is, with no transpose at load.
 */
export function transposeMatrix(raw: tf.Tensor): tf.Tensor {
  return tf.transpose(raw);
}

/** A tensor name and its shape in PyTorch's layout. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * How a weight reads as an int8 matrix (out, K) for the int8 products, one scale per output channel (its first
 * axis, as `convert --dtype int8` stores it).
 */
export interface Int8Reading {
  /**
   * - `matrix`: a Linear weight (out, in), as stored.
   * - `conv-taps-first`: a Conv1d weight (out, in / groups, kernel) read as (out, kernel * in / groups), each tap's
   *   values together and taps in order: the order of an input patch of `kernel` consecutive frames.
   */
  readonly layout: 'matrix' | 'conv-taps-first';
  /** A grouped convolution's groups: its products each take their group's share of the output channels. */
  readonly groups?: number;
  /**
   * Only a weight stored as int8 (an int8 folder), whose int8 form adds no rounding: where rounding the float32
   * weight moves the results too far (the positional convolution).
   */
  readonly storedOnly?: boolean;
}

/** How a layer uses a declared parameter, beyond its name and shape. */
export interface ParameterOptions {
  /**
   * Turns the loaded tensor into the backend's own form and frees its bytes (Linear: `prepareLinearWeight`, on
   * wasm XNNPACK's packed weights); run by `ParameterSet.packNext` / `packAll` after the load. Such tensors are
   * loaded one after another, before every other one, into blocks reserved side by side (`reserveSideBySide`):
   * packed in that order, the space each one leaves joins its neighbours' into a hole that takes the next packed
   * copies, and the weights end up held about once instead of twice.
   */
  readonly pack?: () => void;
  /**
   * The weight may compute as int8 (when the model loads for int8 compute, the backend has int8 products and the
   * stored tensor offers its int8 form), read in this layout; `pack` then turns it into the backend's int8 form.
   */
  readonly int8?: Int8Reading;
  /** `pack` is for the int8 form only: read as float32, the tensor is used as loaded (tf.conv1d's filter). */
  readonly packOnlyAsInt8?: boolean;
}

/** One declared parameter. `value` is available once the owning ParameterSet is loaded. */
export class Parameter {
  private tensor: tf.Tensor | null = null;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    /** Turns the PyTorch-layout tensor into the layout the layer computes with (e.g. a transpose). */
    private readonly prepare?: (raw: tf.Tensor) => tf.Tensor,
    readonly options: ParameterOptions = {},
  ) {}

  /** The loaded tensor, in the layer's layout. */
  get value(): tf.Tensor {
    if (this.tensor === null) {
      throw new UsageError(
        'MODEL_DISPOSED',
        `Parameter ${this.name} is not loaded: the model was disposed or never loaded.`,
      );
    }
    return this.tensor;
  }

  /**
   * @internal The shape of the tensor this parameter is read into when the file's values land in it as they
   * are (no `prepare` step makes a new tensor), or null.
   */
  directShape(stored: StoredTensor): number[] | null {
    if (stored.readTransposedInto && this.prepare === transposeMatrix) return [this.shape[1]!, this.shape[0]!];
    if (stored.readInto && !this.prepare) return [...this.shape];
    return null;
  }

  /**
   * @internal The bytes of this parameter's int8 form (`int8Weight`) when it is read as int8: a weight the layer
   * may compute with as int8 (ParameterOptions.int8), stored (or offered) as int8, while the backend computes int8
   * products. Else null: it is read as float32.
   */
  int8Bytes(stored: StoredTensor): number | null {
    const reading = this.options.int8;
    if (!stored.readInt8Into || !reading || !this.options.pack || (reading.storedOnly && !stored.int8Stored))
      return null;
    const [rows, columns] = this.int8Shape();
    const use: Int8WeightUse =
      reading.layout === 'matrix' ? { kind: 'linear' } : { kind: 'convolution', groups: reading.groups ?? 1 };
    return int8WeightBytes(rows, columns, use);
  }

  /** (out, K): the shape of the int8 form (see Int8Layout). */
  private int8Shape(): [number, number] {
    const [rows, ...rest] = this.shape;
    return [rows!, rest.reduce((a, b) => a * b, 1)];
  }

  /**
   * @internal Fills the parameter from a stored tensor in PyTorch's layout; `block` is a heap block the size of
   * `directShape` (or of `int8Bytes` with `asInt8`) to read it into (see reserveSideBySide), which the tensor then
   * owns. `asInt8`: the int8 form, made only where `int8Bytes` said it can be.
   */
  assign(stored: StoredTensor, block?: HeapBlock, asInt8 = false): void {
    if (asInt8) {
      const tapsFirst = this.options.int8?.layout === 'conv-taps-first';
      const tensor = int8Weight(
        this.int8Shape(),
        (values, scales) => {
          if (!tapsFirst) return stored.readInt8Into!(values, scales);
          const stored8 = new Int8Array(values.length);
          stored.readInt8Into!(stored8, scales);
          convTapsFirst(stored8, this.shape as [number, number, number], values);
        },
        block,
      );
      if (tensor === null) throw new Error(`${this.name}: int8 weights are not available on this backend`);
      this.tensor = tensor;
      return;
    }
    const direct = this.directShape(stored);
    if (direct) {
      // Either no layout change, or stored already in the layout this layer computes with: no transpose at load.
      this.tensor = filledTensor(
        direct,
        (target) => (this.prepare ? stored.readTransposedInto!(target) : stored.readInto!(target)),
        block,
      );
      return;
    }
    const raw = stored.readInto
      ? filledTensor(this.shape, (target) => stored.readInto!(target))
      : tf.tensor(stored.read(), [...this.shape], 'float32');
    if (!this.prepare) {
      this.tensor = raw;
      return;
    }
    this.tensor = tf.tidy(() => this.prepare!(raw));
    raw.dispose();
  }

  /** @internal */
  dispose(): void {
    this.tensor?.dispose();
    this.tensor = null;
  }
}

/**
 * A Conv1d weight's int8 values (out, in, kernel), row-major, rearranged into `out` as (out, kernel * in): each
 * tap's `in` values together (see Int8Layout). Each row keeps its values, so its scale stays as it is.
 */
function convTapsFirst(values: Int8Array, [rows, inChannels, kernel]: [number, number, number], out: Int8Array): void {
  for (let row = 0; row < rows; row++) {
    const base = row * inChannels * kernel;
    for (let c = 0; c < inChannels; c++) {
      for (let tap = 0; tap < kernel; tap++) out[base + tap * inChannels + c] = values[base + c * kernel + tap]!;
    }
  }
}

/** What loading found besides the declared tensors. */
export interface LoadReport {
  /** Number of tensors loaded into the model. */
  readonly loaded: number;
  /** Checkpoint tensors only used in pre-training (the data2vec decoder, EMA teacher): skipped. */
  readonly skippedTrainingOnly: readonly string[];
  /** Other checkpoint tensors the model does not use: skipped. */
  readonly unused: readonly string[];
}

/** Tensor names that exist only for data2vec pre-training and are never needed for inference. */
export function isTrainingOnlyKey(name: string): boolean {
  return /(^|\.)decoder\./.test(name) || /(^|\.)_?ema\./.test(name) || name.startsWith('_ema');
}

/** The parameters of one model, in declaration order. */
export class ParameterSet {
  private readonly parameters: Parameter[] = [];
  private readonly byName = new Map<string, Parameter>();
  /** Loaded tensors whose layer has not packed them yet (ParameterOptions.pack), in load order. */
  private unpacked: Parameter[] = [];
  /** The heap block below them that the first packed copies go into, until packing starts. */
  private headroom: HeapBlock | null = null;

  /** Declares a tensor the model needs. Names are PyTorch state-dict keys. */
  declare(
    name: string,
    shape: readonly number[],
    prepare?: (raw: tf.Tensor) => tf.Tensor,
    options?: ParameterOptions,
  ): Parameter {
    if (this.byName.has(name)) throw new Error(`Parameter ${name} declared twice`);
    const parameter = new Parameter(name, shape, prepare, options);
    this.parameters.push(parameter);
    this.byName.set(name, parameter);
    return parameter;
  }

  /** Every declared tensor with its PyTorch shape. */
  specs(): ParameterSpec[] {
    return this.parameters.map(({ name, shape }) => ({ name, shape }));
  }

  /** Total number of scalar weights. */
  count(): number {
    return this.parameters.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  /**
   * Checks a checkpoint against the declared tensors without reading any of them.
   * Throws one CheckpointError (`CHECKPOINT_TENSORS`) listing every missing and mis-shaped tensor.
   */
  verify(stateDict: StoredTensors): LoadReport {
    const missing: string[] = [];
    const misshaped: string[] = [];
    for (const parameter of this.parameters) {
      const entry = stateDict.get(parameter.name);
      if (!entry) missing.push(parameter.name);
      else if (!sameElements(entry.shape, parameter.shape)) {
        misshaped.push(
          `${parameter.name}: expected [${parameter.shape.join(', ')}], found [${entry.shape.join(', ')}]`,
        );
      }
    }
    if (missing.length > 0 || misshaped.length > 0) {
      // The first few of each list: the full lists are in `details`, the message stays readable (and capped).
      const shown = (names: string[]) => [
        ...names.slice(0, 12).map((n) => `  ${n.slice(0, 200)}`),
        ...(names.length > 12 ? [`  ... and ${names.length - 12} more`] : []),
      ];
      const lines = [
        ...(missing.length > 0 ? [`missing (${missing.length}):`, ...shown(missing)] : []),
        ...(misshaped.length > 0 ? [`wrong shape (${misshaped.length}):`, ...shown(misshaped)] : []),
      ];
      throw new CheckpointError(
        'CHECKPOINT_TENSORS',
        `The checkpoint does not fit this config.yaml:\n${lines.join('\n')}\n` +
          'Use the config.yaml that was published with this model.pt (the sizes in model_conf must match the weights).',
        { details: { missing, misshaped } },
      );
    }
    const skippedTrainingOnly: string[] = [];
    const unused: string[] = [];
    for (const name of stateDict.keys()) {
      if (this.byName.has(name)) continue;
      (isTrainingOnlyKey(name) ? skippedTrainingOnly : unused).push(name);
    }
    return { loaded: this.parameters.length, skippedTrainingOnly, unused };
  }

  /**
   * Verifies the checkpoint (see `verify`), then reads the tensors one by one onto the current backend: first
   * those a layer packs (side by side, see ParameterOptions), then the others, each in declaration order. With
   * `int8`, the weight matrices a layer packs are read as int8 where the stored tensor offers them so
   * (`StoredTensor.readInt8Into`) and the backend computes int8 products (`int8Weight`); the others as float32.
   */
  load(stateDict: StoredTensors, options: { readonly int8?: boolean } = {}): LoadReport {
    const report = this.verify(stateDict);
    // Each tensor a layer packs, with the bytes of its int8 form where it is read as int8 (else null).
    const candidates = this.parameters
      .filter((p) => p.options.pack)
      .map((p) => ({ p, int8Bytes: options.int8 ? p.int8Bytes(stateDict.get(p.name)!) : null }))
      .filter(({ p, int8Bytes }) => !p.options.packOnlyAsInt8 || int8Bytes !== null);
    const packed = candidates.map(({ p }) => p);
    const plans = candidates.map(({ p, int8Bytes }) => {
      if (int8Bytes !== null) return { bytes: int8Bytes, int8: true };
      const shape = p.directShape(stateDict.get(p.name)!);
      return shape && { bytes: shape.reduce((a, b) => a * b, 1) * 4, int8: false };
    });
    const { blocks, headroom } = plans.every((plan) => plan !== null)
      ? reserveSideBySide(plans.map((plan) => plan!.bytes))
      : { blocks: [], headroom: null };
    try {
      // Each block goes to its tensor, which frees it from then on.
      packed.forEach((parameter, i) =>
        parameter.assign(stateDict.get(parameter.name)!, blocks[i], plans[i]?.int8 === true),
      );
      for (const parameter of this.parameters.filter((p) => !packed.includes(p)))
        parameter.assign(stateDict.get(parameter.name)!);
    } catch (error) {
      // Frees the blocks no tensor took (a load that failed part way).
      for (const block of blocks) block.release();
      headroom?.release();
      this.dispose();
      throw error;
    }
    this.unpacked = packed;
    this.headroom = headroom;
    return report;
  }

  /**
   * Packs the next loaded tensor that a layer packs (ParameterOptions.pack), in load order. Returns whether
   * any remain. A pack that throws stays pending, so the next call tries it again.
   */
  packNext(): boolean {
    const next = this.unpacked[0];
    if (next) {
      this.releaseHeadroom();
      next.options.pack!();
      this.unpacked.shift();
    }
    return this.unpacked.length > 0;
  }

  /** Packs every tensor still waiting (see packNext). */
  packAll(): void {
    while (this.packNext());
  }

  /** Frees every loaded tensor. */
  dispose(): void {
    this.unpacked = [];
    this.releaseHeadroom();
    for (const parameter of this.parameters) parameter.dispose();
  }

  /** Frees the block kept below the packed weights (see reserveSideBySide) for the first packed copies. */
  private releaseHeadroom(): void {
    this.headroom?.release();
    this.headroom = null;
  }
}

/**
 * Shapes match when they hold the same dimensions apart from leading 1s: older data2vec checkpoints store
 * `alibi_scale` as 4-D where newer ones add a leading axis (upstream's upgrade_state_dict_named does the same).
 */
function sameElements(found: readonly number[], expected: readonly number[]): boolean {
  const strip = (shape: readonly number[]) => {
    let start = 0;
    while (start < shape.length - 1 && shape[start] === 1) start++;
    return shape.slice(start);
  };
  const a = strip(found);
  const b = strip(expected);
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
