/** A fully connected layer, as torch.nn.Linear: y = x W^T + b with W stored (out, in). */
import * as tf from '@tensorflow/tfjs-core';
import { InferenceError } from '../errors.js';
import { releaseUnpackedWeight } from '../wasm/packed-weights.js';
import type { Parameter, ParameterSet } from './parameters.js';

export class Linear {
  private readonly weight: Parameter;
  private readonly bias?: Parameter;
  /** The weight tensor that exists only as XNNPACK's packed copy (src/wasm/packed-weights.ts), and its backend. */
  private packed: { readonly weight: tf.Tensor; readonly backend: tf.KernelBackend } | null = null;

  constructor(params: ParameterSet, prefix: string, inFeatures: number, readonly outFeatures: number, withBias = true) {
    // Stored transposed to (in, out) once at load time: the layout tfjs' wasm product hands XNNPACK (which packs
    // it once per weight tensor and keeps the packed copy), and a plain product on every other backend.
    this.weight = params.declare(`${prefix}.weight`, [outFeatures, inFeatures], (w) => tf.transpose(w));
    if (withBias) this.bias = params.declare(`${prefix}.bias`, [outFeatures]);
  }

  /** Applies the layer to the last axis of `x` (any leading axes). */
  apply(x: tf.Tensor): tf.Tensor {
    const weight = this.weight.value;
    if (this.packed?.weight !== weight) this.packed = null; // weights loaded again
    if (this.packed !== null && tf.backend() !== this.packed.backend) {
      throw new InferenceError(
        'BACKEND_CHANGED',
        `This model's weights live packed in the wasm backend, but the active backend is now '${tf.getBackend()}': load the model again on the backend that should run it.`,
      );
    }
    const y = tf.tidy(() => {
      const leading = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, x.shape[x.shape.length - 1]!]) as tf.Tensor2D;
      // One fused kernel: the bias is added inside the product (on wasm, XNNPACK packs it with the weights)
      // instead of a second pass over the output.
      const product = tf.fused.matMul({ a: flat, b: weight as tf.Tensor2D, bias: this.bias?.value });
      return tf.reshape(product, [...leading, this.outFeatures]);
    });
    // The first product on wasm left a packed copy of the weight in XNNPACK: its unpacked bytes can go. (Not
    // after an empty input: tfjs may skip the kernel for it, and then nothing was packed.)
    if (this.packed === null && y.size > 0) {
      const backend = releaseUnpackedWeight(weight);
      if (backend) this.packed = { weight, backend };
    }
    return y;
  }
}
