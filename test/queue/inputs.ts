/**
 * Audio inputs for the queue tests: short synthesized clips, and bad inputs that each fail with a known typed error.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFloatWav } from '../../src/audio/wav.js';
import { fixturePath } from '../support/fixtures.js';

/** A 0.4 s 16 kHz clip: a tone plus a little deterministic noise, different for each index. */
export function writeClip(dir: string, index: number): string {
  const samples = new Float32Array(6_400);
  const frequency = 120 + 7 * index;
  let seed = index + 1;
  for (let i = 0; i < samples.length; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    samples[i] = 0.3 * Math.sin((2 * Math.PI * frequency * i) / 16_000) + 0.02 * (seed / 2 ** 31 - 0.5);
  }
  const path = join(dir, `clip${String(index).padStart(3, '0')}.wav`);
  writeFileSync(path, encodeFloatWav(samples, 16_000));
  return path;
}

/** A copy of the 6 s stereo 44.1 kHz fixture: long enough that a worker is caught in the middle of it. */
export function writeLongClip(dir: string, index: number): string {
  const path = join(dir, `long${index}.wav`);
  copyFileSync(fixturePath('audio', 'speech44k_stereo.wav'), path);
  return path;
}

/** Poison inputs and the error code each must be dead-lettered with. */
export function writeBadInputs(dir: string): { path: string; code: string }[] {
  const bad: { path: string; code: string }[] = [];
  const add = (name: string, bytes: string | Uint8Array, code: string) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    bad.push({ path, code });
  };
  for (let i = 0; i < 3; i++)
    add(`notes${i}.wav`, `this is a text file, not audio (${i})\n`, 'AUDIO_UNSUPPORTED_FORMAT');
  for (let i = 0; i < 2; i++) add(`empty${i}.wav`, new Uint8Array(0), 'AUDIO_EMPTY');
  for (let i = 0; i < 3; i++)
    add(`truncated${i}.wav`, encodeFloatWav(new Float32Array(4_000), 16_000).subarray(0, 30 + i), 'AUDIO_DECODE');
  for (let i = 0; i < 2; i++) add(`tiny${i}.wav`, encodeFloatWav(new Float32Array(100 + i), 16_000), 'AUDIO_TOO_SHORT');
  return bad;
}
