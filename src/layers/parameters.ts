/**
 * Named parameters, declared by the layers and filled from a checkpoint.
 *
 * Layers declare each tensor they need (PyTorch name and shape) while the model is being built, before any
 * weight is read. That single list is then checked against the checkpoint in one pass, so a wrong file gets
 * one error listing every missing or mis-shaped tensor, and only then are the tensors read, one at a time.
 */
import * as tf from '@tensorflow/tfjs-core';
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
}

/** Tensor name -> stored tensor. */
export type StoredTensors = ReadonlyMap<string, StoredTensor>;

/** A tensor name and its shape in PyTorch's layout. */
export interface ParameterSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One declared parameter. `value` is available once the owning ParameterSet is loaded. */
export class Parameter {
  private tensor: tf.Tensor | null = null;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    /** Turns the PyTorch-layout tensor into the layout the layer computes with (e.g. a transpose). */
    private readonly prepare?: (raw: tf.Tensor) => tf.Tensor,
  ) {}

  /** The loaded tensor, in the layer's layout. */
  get value(): tf.Tensor {
    if (this.tensor === null) {
      throw new UsageError('MODEL_DISPOSED', `Parameter ${this.name} is not loaded: the model was disposed or never loaded.`);
    }
    return this.tensor;
  }

  /** @internal Fills the parameter from PyTorch-layout values. */
  assign(values: Float32Array): void {
    const raw = tf.tensor(values, [...this.shape], 'float32');
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

  /** Declares a tensor the model needs. Names are PyTorch state-dict keys. */
  declare(name: string, shape: readonly number[], prepare?: (raw: tf.Tensor) => tf.Tensor): Parameter {
    if (this.byName.has(name)) throw new Error(`Parameter ${name} declared twice`);
    const parameter = new Parameter(name, shape, prepare);
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
        misshaped.push(`${parameter.name}: expected [${parameter.shape.join(', ')}], found [${entry.shape.join(', ')}]`);
      }
    }
    if (missing.length > 0 || misshaped.length > 0) {
      // The first few of each list: the full lists are in `details`, the message stays readable (and capped).
      const shown = (names: string[]) => [...names.slice(0, 12).map((n) => `  ${n.slice(0, 200)}`), ...(names.length > 12 ? [`  ... and ${names.length - 12} more`] : [])];
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

  /** Verifies the checkpoint (see `verify`), then reads the tensors one by one onto the current backend. */
  load(stateDict: StoredTensors): LoadReport {
    const report = this.verify(stateDict);
    try {
      for (const parameter of this.parameters) parameter.assign(stateDict.get(parameter.name)!.read());
    } catch (error) {
      this.dispose();
      throw error;
    }
    return report;
  }

  /** Frees every loaded tensor. */
  dispose(): void {
    for (const parameter of this.parameters) parameter.dispose();
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
