/** Access to the reference fixtures (test/fixtures, copied from the shared upstream outputs). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeNpy, type NpyArray } from '../../src/io/npy.js';
import { parseConfigYaml, parseTokens, type ModelDefinition } from '../../src/model/config.js';
import type { StateDict } from '../../src/model/state-dict.js';
import { syntheticStateDict, syntheticTensor } from './synthetic-weights.js';

export type FixtureCase = 'tiny' | 'tiny_wrapped' | 'base' | 'large';

export interface ManifestInput {
  id: string;
  source: string;
  samples16k: number;
  frames: [number, number];
  labels: string[];
  scores: number[];
  top: string;
  intermediates?: Record<string, number[]>;
}

export function fixturePath(...parts: string[]): string {
  return fileURLToPath(new URL(`../fixtures/${parts.join('/')}`, import.meta.url));
}

export function loadNpy(caseName: FixtureCase, name: string): NpyArray {
  return decodeNpy(readFileSync(fixturePath(caseName, `${name}.npy`)));
}

export function manifestInputs(caseName: FixtureCase): ManifestInput[] {
  return (JSON.parse(readFileSync(fixturePath(caseName, 'manifest.json'), 'utf8')) as { inputs: ManifestInput[] })
    .inputs;
}

export function definitionOf(caseName: FixtureCase): ModelDefinition {
  const { config } = parseConfigYaml(readFileSync(fixturePath(caseName, 'config.yaml'), 'utf8'));
  return { config, tokens: parseTokens(readFileSync(fixturePath(caseName, 'tokens.txt'), 'utf8')) };
}

/** The synthetic weights of a case, rebuilt from its key list and salt (see synthetic-weights.ts). */
export function syntheticWeights(caseName: FixtureCase): StateDict {
  return syntheticStateDict(fixturePath(caseName));
}

/** A fixture case turned into a model with one ALiBi scale row per block (see `perLayerAlibiCase`). */
export interface PerLayerAlibiCase {
  /** The case's config.yaml with `learned_alibi_scale_per_layer: true`. */
  readonly configYaml: string;
  readonly definition: ModelDefinition;
  /** The case's synthetic weights, `alibi_scale` replaced by one of shape (blocks, 1, heads, 1, 1). */
  readonly weights: StateDict;
}

const ALIBI_SCALE_KEY = 'modality_encoders.AUDIO.alibi_scale';

/**
 * A case's model as it would be with `learned_alibi_scale_per_layer: true` (a config the loader accepts; no
 * fixture has it): the same config.yaml with that line switched, the same weights, and an `alibi_scale` with
 * one row per block (prenet first), made by the synthetic-weights recipe at that shape so its rows differ.
 */
export function perLayerAlibiCase(caseName: FixtureCase): PerLayerAlibiCase {
  const shared = readFileSync(fixturePath(caseName, 'config.yaml'), 'utf8');
  const configYaml = shared.replace('learned_alibi_scale_per_layer: false', 'learned_alibi_scale_per_layer: true');
  if (configYaml === shared)
    throw new Error(`${caseName}/config.yaml has no 'learned_alibi_scale_per_layer: false' line`);
  const { config } = parseConfigYaml(configYaml);
  const definition = { config, tokens: parseTokens(readFileSync(fixturePath(caseName, 'tokens.txt'), 'utf8')) };
  const weights = syntheticWeights(caseName);
  const sharedShape = weights.get(ALIBI_SCALE_KEY)!.shape;
  const shape = [config.prenetDepth + config.depth, ...sharedShape.slice(1)];
  const { salt } = JSON.parse(readFileSync(fixturePath(caseName, 'manifest.json'), 'utf8')) as { salt: string };
  weights.set(ALIBI_SCALE_KEY, { shape, dtype: 'float32', read: () => syntheticTensor(salt, ALIBI_SCALE_KEY, shape) });
  return { configYaml, definition, weights };
}

/** Largest absolute elementwise difference; throws if the lengths differ. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(max) ? Infinity : max;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

/** Deterministic pseudo-random numbers in [-1, 1) for reference tests. */
export function randomArray(length: number, seed = 1): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}
