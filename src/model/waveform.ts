/** Whole-waveform layer normalisation, as upstream's `F.layer_norm(source, source.shape)` (eps 1e-5, no affine). */

const WAVEFORM_NORM_EPS = 1e-5;

/**
 * Returns (x - mean) / sqrt(var + 1e-5) over all samples. Computed in plain JS with float64 statistics:
 * exact to float32 rounding, cheap, and independent of the backend and of batch padding.
 */
export function normalizeWaveform(samples: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  const mean = sum / samples.length;
  let squares = 0;
  for (let i = 0; i < samples.length; i++) squares += (samples[i]! - mean) ** 2;
  const invStd = 1 / Math.sqrt(squares / samples.length + WAVEFORM_NORM_EPS);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = (samples[i]! - mean) * invStd;
  return out;
}
