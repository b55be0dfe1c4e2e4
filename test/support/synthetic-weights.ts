/**
 * Rebuilds the fixtures' synthetic weights bit for bit, following test/fixtures/README.md ("Synthetic
 * weights"): a hash of (salt, key) seeds a counter-based integer hash per element, mapped to [-1, 1) and
 * scaled by a rule chosen from the key. The base and large fixtures ship no weights; this is how we get them.
 */
import { readFileSync } from 'node:fs';
import type { StateDict, TensorEntry } from '../../src/model/state-dict.js';

/** FNV-1a, 32-bit, over UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Chris Wellons' lowbias32 integer hash. */
export function lowbias32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** The (scale, centre) rule of the README's table; first match wins. */
export function scaleRule(key: string, shape: readonly number[]): { s: number; c: number } {
  if (key.endsWith('extra_tokens')) return { s: 0.5, c: 0 };
  if (key.endsWith('alibi_scale')) return { s: 0.25, c: 1 };
  if (shape.length === 1 && key.endsWith('.weight')) return { s: 0.1, c: 1 };
  if (shape.length === 1) return { s: 0.05, c: 0 };
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  if (key === 'proj.weight') return { s: 8 / Math.sqrt(fanIn), c: 0 };
  return { s: 1 / Math.sqrt(fanIn), c: 0 };
}

/** The values of one synthetic tensor, in PyTorch row-major order. */
export function syntheticTensor(salt: string, key: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const seed = fnv1a32(`${salt}:${key}`);
  const { s, c } = scaleRule(key, shape);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = lowbias32((Math.imul(i, 0x9e3779b9) + seed) >>> 0);
    const v = 2 * ((x >>> 8) / 16777216) - 1;
    out[i] = v * s + c; // float64 multiply-add, rounded to float32 on store
  }
  return out;
}

/** A lazily generated state dict for a fixture case (its state_dict_keys.json and manifest salt). */
export function syntheticStateDict(caseDir: string): StateDict {
  const keys = JSON.parse(readFileSync(`${caseDir}/state_dict_keys.json`, 'utf8')) as {
    key: string;
    shape: number[];
  }[];
  const { salt } = JSON.parse(readFileSync(`${caseDir}/manifest.json`, 'utf8')) as { salt: string };
  const dict: StateDict = new Map();
  for (const { key, shape } of keys) {
    const entry: TensorEntry = { shape, dtype: 'float32', read: () => syntheticTensor(salt, key, shape) };
    dict.set(key, entry);
  }
  return dict;
}
