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
 * (float32 slopes times integer distances). Made in JS, element by element: the reference `blockBias` is
 * checked against bit for bit.
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

  /** Whether every block has its own scale (so its own table); otherwise one table serves all blocks. */
  get perBlock(): boolean {
    return this.options.perLayer;
  }

  /**
   * The scaled bias of one block (prenet blocks count first), (numHeads, E + T, E + T): a new tensor the caller
   * disposes. A forward pass builds each block's table when the block runs, so it holds one table at a time
   * whether or not the scale is per block (the large shape's 24 tables of 10 s are 382 MiB together).
   */
  blockBias(time: number, block: number): tf.Tensor3D {
    return tf.tidy(() => {
      const { numHeads, numAlibiHeads, numExtraTokens, perLayer } = this.options;
      const size = numExtraTokens + time;
      const scale = tf.squeeze(tf.slice(this.scale.value, [perLayer ? block : 0, 0, 0, 0], [1, -1, -1, -1]), [0]);
      const slopes = tf.tensor3d(alibiSlopes(numAlibiHeads), [numAlibiHeads, 1, 1]);
      const distances = tf.tensor3d(paddedDistances(time, numExtraTokens), [1, size, size]);
      // float32 slope times an exact integer distance is rounded once, as in alibiTable; then times the scale,
      // as upstream. Two products on the backend instead of a table made in JS and padded: the same bits,
      // cheap enough to repeat for every block. Extra tokens' rows and columns come out +0 (distance +0).
      const scaled = tf.mul(tf.mul(slopes, distances), scale) as tf.Tensor3D;
      if (numAlibiHeads === numHeads) return scaled;
      return tf.concat([scaled, tf.zeros([numHeads - numAlibiHeads, size, size])], 0);
    });
  }

  /**
   * The scaled bias of every block, in order (prenet blocks first), each (numHeads, E + T, E + T), all built
   * at once (layer tests; a forward pass takes one block's at a time from `blockBias`).
   * Blocks that share one scale share one tensor.
   */
  biases(time: number): tf.Tensor3D[] {
    const { totalBlocks } = this.options;
    if (!this.perBlock) return Array<tf.Tensor3D>(totalBlocks).fill(this.blockBias(time, 0));
    return Array.from({ length: totalBlocks }, (_, block) => this.blockBias(time, block));
  }
}

/**
 * -|i - j| over E + T positions, 0 in the rows and columns of the E extra tokens (they get no bias): (E + T)^2
 * float32, with -0 on the diagonal as upstream's `-abs(i - j)` has it.
 */
function paddedDistances(time: number, numExtraTokens: number): Float32Array {
  const size = numExtraTokens + time;
  const distances = new Float32Array(size * size);
  for (let i = 0; i < time; i++) {
    const row = (numExtraTokens + i) * size + numExtraTokens;
    for (let j = 0; j < time; j++) distances[row + j] = -Math.abs(i - j);
  }
  return distances;
}
