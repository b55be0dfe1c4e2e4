/** LayerNorm over the last axis, as torch.nn.LayerNorm (biased variance, eps inside the square root). */
import type * as tf from '@tensorflow/tfjs-core';
import { layerNorm, layerNormGelu } from '../backend/kernels.js';
import type { Parameter, ParameterSet } from './parameters.js';

export { layerNorm, layerNormGelu };

/** A LayerNorm module with optional learned gain and bias (`<prefix>.weight`, `<prefix>.bias`). */
export class LayerNorm {
  private readonly weight?: Parameter;
  private readonly bias?: Parameter;

  constructor(
    params: ParameterSet,
    prefix: string,
    dim: number,
    private readonly eps: number,
    affine = true,
  ) {
    if (affine) {
      this.weight = params.declare(`${prefix}.weight`, [dim]);
      this.bias = params.declare(`${prefix}.bias`, [dim]);
    }
  }

  apply(x: tf.Tensor): tf.Tensor {
    return layerNorm(x, this.eps, this.weight?.value, this.bias?.value);
  }

  /**
   * gelu(this.apply(x)), in one pass where the backend allows it (affine LayerNorm on wasm); with `inPlace`, over
   * x's own data there (x must not be used afterwards).
   */
  applyWithGelu(x: tf.Tensor, inPlace = false): tf.Tensor {
    return layerNormGelu(x, this.eps, this.weight?.value, this.bias?.value, inPlace);
  }
}
