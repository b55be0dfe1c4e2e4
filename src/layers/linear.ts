/** A fully connected layer, as torch.nn.Linear: y = x W^T + b with W stored (out, in). */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import { packWeight } from '../backend/wasm/packed-weights.js';
import { transposeMatrix, type Parameter, type ParameterSet } from './parameters.js';

/** How a Linear layer keeps its weight. */
export interface LinearOptions {
  /** Whether the layer has a bias (default true). */
  readonly bias?: boolean;
  /**
   * The weight is only ever this layer's product, never read back: true for the encoder's layers, not for a
   * head that may be trained or exported. On wasm the weight is then packed for XNNPACK when the parameter set
   * packs (`ParameterSet.packNext`) and its unpacked copy freed (src/backend/wasm/packed-weights.ts), so the weights
   * take their memory once instead of twice.
   */
  readonly packed?: boolean;
}

export class Linear {
  private readonly weight: Parameter;
  private readonly bias?: Parameter;
  /** The wasm backend holding the only (packed) copy of the weight, once it was packed. */
  private packedOn: tf.KernelBackend | null = null;

  constructor(params: ParameterSet, prefix: string, inFeatures: number, readonly outFeatures: number, options: LinearOptions = {}) {
    // Stored transposed to (in, out) once at load time: the layout tfjs' wasm product hands XNNPACK, and a plain
    // product on every other backend. Converted folders store it so already (format 3), and then load it
    // without the transpose.
    const pack = options.packed ? () => this.pack() : undefined;
    this.weight = params.declare(`${prefix}.weight`, [outFeatures, inFeatures], transposeMatrix, { pack });
    if (options.bias ?? true) this.bias = params.declare(`${prefix}.bias`, [outFeatures]);
  }

  /** Applies the layer to the last axis of `x` (any leading axes). */
  apply(x: tf.Tensor): tf.Tensor {
    if (this.packedOn !== null && tf.backend() !== this.packedOn) {
      throw new UsageError(
        'BACKEND_CHANGED',
        `This model's weights live packed in the wasm backend it was loaded on, but the active backend is now '${tf.getBackend()}': ` +
          'load the model again on the backend that should run it (tfjs cannot move packed weights).',
      );
    }
    return tf.tidy(() => {
      const leading = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      // One fused kernel: the bias is added inside the product (on wasm, XNNPACK packs it with the weights)
      // instead of a second pass over the output.
      const product = tf.fused.matMul({ a: flat, b: this.weight.value as tf.Tensor2D, bias: this.bias?.value });
      return tf.reshape(product, [...leading, this.outFeatures]);
    });
  }

  /** Packs the weight where the backend allows it (see LinearOptions.packed); called once, by the parameter set. */
  private pack(): void {
    this.packedOn = packWeight(this.weight.value, this.bias?.value);
  }
}
