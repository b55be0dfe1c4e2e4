/** A fully connected layer, as torch.nn.Linear: y = x W^T + b with W stored (out, in). */
import type * as tf from '@tensorflow/tfjs-core';
import { linear, prepareLinearWeight, type PreparedWeight } from '../backend/kernels.js';
import { transposeMatrix, type Parameter, type ParameterSet } from './parameters.js';

/** How a Linear layer keeps its weight. */
export interface LinearOptions {
  /** Whether the layer has a bias (default true). */
  readonly bias?: boolean;
  /**
   * The weight is only ever this layer's product, never read back: true for the encoder's layers, not for a
   * head that may be trained or exported. The backend may then turn it into its own form when the parameter set
   * packs (`ParameterSet.packNext`, `prepareLinearWeight`): on wasm XNNPACK's packed copy, the unpacked one freed,
   * so the weights take their memory once instead of twice.
   */
  readonly packed?: boolean;
}

export class Linear {
  private readonly weight: Parameter;
  private readonly bias?: Parameter;
  /** What the backend made of the weight when the parameter set packed it, or null: plain values. */
  private prepared: PreparedWeight | null = null;

  constructor(
    params: ParameterSet,
    prefix: string,
    inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    // Stored transposed to (in, out) once at load time: the layout tfjs' wasm product hands XNNPACK, and a plain
    // product on every other backend. Converted folders store it so already (format 3), and then load it
    // without the transpose.
    // A packed weight may also compute as int8 (when the model loads for int8 compute): as stored, (out, in).
    const packing = options.packed ? { pack: () => this.pack(), int8: { layout: 'matrix' } as const } : {};
    this.weight = params.declare(`${prefix}.weight`, [outFeatures, inFeatures], transposeMatrix, packing);
    if (options.bias ?? true) this.bias = params.declare(`${prefix}.bias`, [outFeatures]);
  }

  /** Whether the backend computes this layer's product in int8 (its weight was read and packed as int8). */
  get computesInt8(): boolean {
    return this.prepared?.kind === 'int8';
  }

  /** Applies the layer to the last axis of `x` (any leading axes). */
  apply(x: tf.Tensor): tf.Tensor {
    return linear(x, { weight: this.weight.value, bias: this.bias?.value, prepared: this.prepared });
  }

  /**
   * Prepares the weight where the backend has a form of its own (see LinearOptions.packed); called once, by the
   * parameter set.
   */
  private pack(): void {
    this.prepared = prepareLinearWeight(this.weight.value, this.bias?.value);
  }
}
