/**
 * ALiBi attention biases with learned per-head scales (data2vec 2.0): head h adds -slope_h * |i - j| to the
 * score of query i on key j. The learned `alibi_scale` (clamped at 0) multiplies the table, once for all
 * blocks or once per block; rows and columns of the extra tokens get no bias.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Parameter, ParameterSet } from './parameters.js';

/**
 * Per-head slopes of ALiBi (Press et al.): a geometric series starting at 2^(-8/n) for n heads. For a head
 * count that is not a power of two, the slopes of the next lower power of two are followed by every other
 * slope of twice that power, as upstream does.
 */
export function alibiSlopes(heads: number): number[] {
  const powerOfTwoSlopes = (n: number): number[] => {
    const start = 2 ** -(2 ** -(Math.log2(n) - 3));
    return Array.from({ length: n }, (_, i) => start * start ** i);
  };
  if (Number.isInteger(Math.log2(heads))) return powerOfTwoSlopes(heads);
  const lowerPower = 2 ** Math.floor(Math.log2(heads));
  const extra = alibiSlopes(2 * lowerPower)
    .filter((_, i) => i % 2 === 0)
    .slice(0, heads - lowerPower);
  return [...powerOfTwoSlopes(lowerPower), ...extra];
}

/**
 * The unscaled float32 table (heads, T, T): slope_h * -|i - j|, rounded to float32 as upstream computes it
 * (float32 slopes times integer distances).
 */
export function alibiTable(heads: number, time: number): Float32Array {
  const slopes = alibiSlopes(heads).map(Math.fround);
  const table = new Float32Array(heads * time * time);
  for (let h = 0; h < heads; h++) {
    const base = h * time * time;
    for (let i = 0; i < time; i++) {
      for (let j = 0; j < time; j++) table[base + i * time + j] = slopes[h]! * -Math.abs(i - j);
    }
  }
  return table;
}

export interface AlibiOptions {
  readonly numHeads: number;
  /** The first `numAlibiHeads` heads carry a bias; the others get none. */
  readonly numAlibiHeads: number;
  readonly perHead: boolean;
  readonly perLayer: boolean;
  /** Prenet plus main blocks. */
  readonly totalBlocks: number;
  readonly numExtraTokens: number;
}

export class AlibiBias {
  private readonly scale: Parameter;

  constructor(
    params: ParameterSet,
    name: string,
    private readonly options: AlibiOptions,
  ) {
    const scaleRows = options.perLayer ? options.totalBlocks : 1;
    const scaleHeads = options.perHead ? options.numAlibiHeads : 1;
    // Stored (rows, 1, heads, 1, 1); kept as (rows, heads, 1, 1) and clamped at 0 once, as upstream does.
    this.scale = params.declare(name, [scaleRows, 1, scaleHeads, 1, 1], (s) =>
      tf.relu(tf.reshape(s, [scaleRows, scaleHeads, 1, 1])),
    );
  }

  /**
   * The scaled bias of every block, in order (prenet blocks first), each (numHeads, E + T, E + T).
   * Blocks that share one scale share one tensor.
   */
  biases(time: number): tf.Tensor3D[] {
    return tf.tidy(() => {
      const { numHeads, numAlibiHeads, numExtraTokens, totalBlocks, perLayer } = this.options;
      const table = tf.tensor3d(alibiTable(numAlibiHeads, time), [numAlibiHeads, time, time]);
      const scaleRows = tf.unstack(this.scale.value) as tf.Tensor3D[]; // each (heads, 1, 1)
      const scaled = scaleRows.map((scale) =>
        tf.pad(tf.mul(table, scale), [
          [0, numHeads - numAlibiHeads],
          [numExtraTokens, 0],
          [numExtraTokens, 0],
        ]),
      ) as tf.Tensor3D[];
      return Array.from({ length: totalBlocks }, (_, block) => scaled[perLayer ? block : 0]!);
    });
  }
}
