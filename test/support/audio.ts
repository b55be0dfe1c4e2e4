/** Helpers for comparing decoded audio with its source. */
import { createHash } from 'node:crypto';
import { runs, systemTool } from './system-tools.js';

/** SHA-256 of the float32 bytes of the channels in order: what test/fixtures/formats/reference.json records. */
export function sha256(arrays: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  for (const a of arrays) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return hash.digest('hex');
}

/** Whether ffmpeg is on the PATH (tests that need it are skipped without, except under CI: system-tools.ts). */
export const HAS_FFMPEG = systemTool('ffmpeg', runs('ffmpeg', ['-version']), 'Install it (apt-get install ffmpeg).');

/**
 * Best normalised cross-correlation between a decoded signal and its source over lags in [-maxLag, maxLag]:
 * lossy encoders delay and pad the signal, so the comparison is made at the lag where they line up best.
 */
export function alignedCorrelation(
  decoded: Float32Array,
  source: Float32Array,
  maxLag: number,
): { correlation: number; lag: number } {
  let best = { correlation: -1, lag: 0 };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let xy = 0;
    let xx = 0;
    let yy = 0;
    const from = Math.max(0, -lag);
    const to = Math.min(source.length, decoded.length - lag);
    for (let i = from; i < to; i++) {
      const x = source[i]!;
      const y = decoded[i + lag]!;
      xy += x * y;
      xx += x * x;
      yy += y * y;
    }
    const correlation = xy / Math.sqrt(xx * yy || 1);
    if (correlation > best.correlation) best = { correlation, lag };
  }
  return best;
}
