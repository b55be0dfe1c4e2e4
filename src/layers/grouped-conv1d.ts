/**
 * Grouped Conv1d with "same" padding, as torch.nn.Conv1d(C, C, k, padding=k//2, groups=G) followed by
 * upstream's SamePad (which drops the extra last frame when k is even). tfjs has no grouped convolution: the
 * kernel interface's `groupedConv1d` computes it as one 2-D product per group (src/backend/plain-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { groupedConv1d, prepareLinearWeight, type PreparedWeight } from '../backend/kernels.js';
import type { Parameter, ParameterSet } from './parameters.js';

export class GroupedConv1d {
  private readonly weight: Parameter;
  private readonly bias: Parameter;
  /** The backend's int8 form of the weight (with the bias), when the model computes in int8; else null. */
  private prepared: PreparedWeight | null = null;

  constructor(
    params: ParameterSet,
    prefix: string,
    inChannels: number,
    outChannels: number,
    private readonly kernel: number,
    private readonly groups: number,
  ) {
    const groupIn = inChannels / groups;
    const groupOut = outChannels / groups;
    // (out, in/G, k) -> (G, k * in/G, out/G): each group's patch (tap-major, as gathered) to its own channels.
    // Computing in int8 from an int8 folder, the weight is read as an (out, k * in/G) int8 matrix instead, taps
    // first likewise; not from float32 weights: rounding them to int8 alone moved tiny's scores by 0.025
    // (docs/performance.md, "int8 compute").
    this.weight = params.declare(
      `${prefix}.weight`,
      [outChannels, groupIn, kernel],
      (w) =>
        tf.reshape(tf.transpose(tf.reshape(w, [groups, groupOut, groupIn, kernel]), [0, 3, 2, 1]), [
          groups,
          kernel * groupIn,
          groupOut,
        ]),
      {
        int8: { layout: 'conv-taps-first', groups, storedOnly: true },
        pack: () => this.pack(),
        packOnlyAsInt8: true,
      },
    );
    this.bias = params.declare(`${prefix}.bias`, [outChannels]);
  }

  /** (B, T, C_in) -> (B, T, C_out); positions outside [0, T) count as zeros. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    const { kernel, groups, prepared } = this;
    return groupedConv1d(x, { weight: this.weight.value, bias: this.bias.value, kernel, groups, prepared });
  }

  /** Turns a weight read as int8 into the backend's int8 form, with the bias; called once, by the parameter set. */
  private pack(): void {
    this.prepared = prepareLinearWeight(this.weight.value, this.bias.value);
  }
}
