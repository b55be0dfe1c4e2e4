/** Mean over time of each item's real frames (padding excluded): the utterance embedding. */
import * as tf from '@tensorflow/tfjs-core';

/**
 * @param frames (B, T, D).
 * @param frameLengths real frame count of each item (<= T).
 * @returns (B, D).
 */
export function maskedMeanPool(frames: tf.Tensor3D, frameLengths: readonly number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, time] = frames.shape;
    if (frameLengths.every((n) => n === time)) return tf.mean(frames, 1) as tf.Tensor2D;
    const mask = sequenceMask(frameLengths, time, batch);
    const summed = tf.sum(tf.mul(frames, tf.expandDims(mask, -1)), 1);
    return tf.div(summed, tf.tensor2d(frameLengths.map(Number), [batch, 1])) as tf.Tensor2D;
  });
}

/** (B, T) with 1 where t < length of item b, else 0. */
export function sequenceMask(lengths: readonly number[], time: number, batch = lengths.length): tf.Tensor2D {
  const mask = new Float32Array(batch * time);
  lengths.forEach((length, b) => mask.fill(1, b * time, b * time + Math.min(length, time)));
  return tf.tensor2d(mask, [batch, time]);
}
