/** A fully connected layer, as torch.nn.Linear: y = x W^T + b with W stored (out, in). */
import * as tf from '@tensorflow/tfjs-core';
import { transposeMatrix, type Parameter, type ParameterSet } from './parameters.js';

export class Linear {
  private readonly weight: Parameter;
  private readonly bias?: Parameter;

  constructor(params: ParameterSet, prefix: string, inFeatures: number, readonly outFeatures: number, withBias = true) {
    // Stored transposed to (in, out) once at load time: the layout tfjs' wasm product hands XNNPACK (which packs
    // it once per weight tensor and keeps the packed copy), and a plain product on every other backend. Converted
    // folders store it so already (format 3), and then load it without the transpose.
    this.weight = params.declare(`${prefix}.weight`, [outFeatures, inFeatures], transposeMatrix);
    if (withBias) this.bias = params.declare(`${prefix}.bias`, [outFeatures]);
  }

  /** Applies the layer to the last axis of `x` (any leading axes). */
  apply(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const leading = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      // One fused kernel: the bias is added inside the product (on wasm, XNNPACK packs it with the weights)
      // instead of a second pass over the output.
      const product = tf.fused.matMul({ a: flat, b: this.weight.value as tf.Tensor2D, bias: this.bias?.value });
      return tf.reshape(product, [...leading, this.outFeatures]);
    });
  }
}
