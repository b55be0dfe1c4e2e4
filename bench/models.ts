/**
 * The models the benchmarks run: the fixtures' base- and large-shaped synthetic models (the same sizes and
 * FLOPs as emotion2vec+ base and large), and each with one ALiBi scale per block (`<name>-per-layer`,
 * `learned_alibi_scale_per_layer: true`), so that a config whose memory or speed differs shows up in our numbers.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertModel } from '../src/model/convert.js';
import { installNodePlatform } from '../src/node-platform.js';
import type { ModelDefinition } from '../src/model/config.js';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import type { StateDict } from '../src/model/state-dict.js';
import type { WeightDType } from '../src/model/weight-dtypes.js';
import {
  definitionOf,
  fixturePath,
  perLayerAlibiCase,
  syntheticWeights,
  type FixtureCase,
} from '../test/support/fixtures.js';

export const BENCH_MODELS = ['base', 'large', 'base-per-layer', 'large-per-layer'] as const;
export type BenchModelName = (typeof BENCH_MODELS)[number];

export interface BenchModel {
  readonly name: BenchModelName;
  /** The fixture it is made from (its config, weights recipe and reference outputs). */
  readonly fixture: FixtureCase;
  /** One ALiBi scale per block: the fixture's reference outputs do not apply. */
  readonly perLayer: boolean;
  readonly configYaml: string;
  readonly definition: ModelDefinition;
  readonly weights: StateDict;
}

export function isBenchModel(name: string): name is BenchModelName {
  return (BENCH_MODELS as readonly string[]).includes(name);
}

export function benchModel(name: BenchModelName): BenchModel {
  const perLayer = name.endsWith('-per-layer');
  const fixture = name.replace('-per-layer', '') as FixtureCase;
  if (perLayer) return { name, fixture, perLayer, ...perLayerAlibiCase(fixture) };
  return {
    name,
    fixture,
    perLayer,
    configYaml: readFileSync(fixturePath(fixture, 'config.yaml'), 'utf8'),
    definition: definitionOf(fixture),
    weights: syntheticWeights(fixture),
  };
}

/** A checkpoint folder of the model: config.yaml, tokens.txt and its weights as model.safetensors. */
export function writeCheckpointFolder(model: BenchModel, folder: string): void {
  mkdirSync(folder, { recursive: true });
  const tensors = [...model.weights].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read() as Float32Array,
  }));
  writeFileSync(join(folder, 'model.safetensors'), writeSafetensors(tensors));
  writeFileSync(join(folder, 'config.yaml'), model.configYaml);
  writeFileSync(join(folder, 'tokens.txt'), readFileSync(fixturePath(model.fixture, 'tokens.txt')));
}

/** Converts a checkpoint folder as `emotion2vec convert <folder> --out <out> --dtype <dtype>` does. */
export async function convertFolder(checkpoint: string, out: string, dtype: WeightDType): Promise<void> {
  // The converter reads the checkpoint folder through the Node platform's file hooks.
  installNodePlatform();
  await convertModel(checkpoint, out, { dtype });
}
