/**
 * Grouped Conv1d with "same" padding, as torch.nn.Conv1d(C, C, k, padding=k//2, groups=G) followed by
 * upstream's SamePad (which drops the extra last frame when k is even).
 *
 * tfjs has no grouped convolution. Running a full C->C convolution with a block-diagonal kernel would cost G
 * times the FLOPs, so instead the k shifted copies of the input are gathered once (im2col) and every group is
 * one plain 2-D product per group: (B*T, k*C/G) x (k*C/G, C/G). Same FLOPs as the grouped conv, and 2-D
 * products because a batched (3-D) `matMul` runs ~10x slower on wasm (bench/RESULTS.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { slice } from '../backend/kernels.js';
import type { Parameter, ParameterSet } from './parameters.js';

export class GroupedConv1d {
  private readonly weight: Parameter;
  private readonly bias: Parameter;
  private readonly groupIn: number;
  private readonly groupOut: number;

  constructor(
    params: ParameterSet,
    prefix: string,
    private readonly inChannels: number,
    private readonly outChannels: number,
    private readonly kernel: number,
    private readonly groups: number,
  ) {
    this.groupIn = inChannels / groups;
    this.groupOut = outChannels / groups;
    const { groupIn, groupOut } = this;
    // (out, in/G, k) -> (G, k * in/G, out/G), matching the order of the gathered patches (tap-major).
    this.weight = params.declare(`${prefix}.weight`, [outChannels, groupIn, kernel], (w) =>
      tf.reshape(tf.transpose(tf.reshape(w, [groups, groupOut, groupIn, kernel]), [0, 3, 2, 1]), [
        groups,
        kernel * groupIn,
        groupOut,
      ]),
    );
    this.bias = params.declare(`${prefix}.bias`, [outChannels]);
  }

  /** (B, T, C_in) -> (B, T, C_out); positions outside [0, T) count as zeros. */
  apply(x: tf.Tensor3D): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, time] = x.shape;
      const { kernel, groups, groupIn, groupOut } = this;
      const pad = Math.floor(kernel / 2);
      const padded = tf.pad(x, [
        [0, 0],
        [pad, pad],
        [0, 0],
      ]);
      // For odd k the padded conv gives T frames; for even k it gives T+1 and SamePad drops the last: T either way.
      // The k shifted copies and their stack go as soon as the patches exist (each is k times the input: 37 MB
      // per copy for 10 s of the large model), and each group's rows as soon as its product is done.
      const stacked = tf.tidy(() =>
        tf.stack(
          Array.from({ length: kernel }, (_, j) => slice(padded, [0, j, 0], [batch, time, this.inChannels])),
          2,
        ),
      );
      padded.dispose();
      const patches = tf.tidy(() =>
        tf.reshape(tf.transpose(tf.reshape(stacked, [batch, time, kernel, groups, groupIn]), [3, 0, 1, 2, 4]), [
          groups,
          batch * time,
          kernel * groupIn,
        ]),
      ) as tf.Tensor3D;
      stacked.dispose();
      const rows = batch * time;
      const weight = this.weight.value as tf.Tensor3D;
      const perGroup = Array.from({ length: groups }, (_, g) =>
        tf.tidy(() =>
          tf.matMul(
            tf.reshape(slice(patches, [g, 0, 0], [1, rows, kernel * groupIn]), [rows, kernel * groupIn]) as tf.Tensor2D,
            tf.reshape(slice(weight, [g, 0, 0], [1, kernel * groupIn, groupOut]), [
              kernel * groupIn,
              groupOut,
            ]) as tf.Tensor2D,
          ),
        ),
      ); // each (B*T, out/G); side by side they are the output channels in order
      patches.dispose();
      return tf.reshape(tf.add(tf.concat(perGroup, 1), this.bias.value), [
        batch,
        time,
        this.outChannels,
      ]) as tf.Tensor3D;
    });
  }
}
