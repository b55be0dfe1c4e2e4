/** A model converted in memory (model.json + shards as files), for tests of `convert --dtype` and loading. */
import { readFileSync } from 'node:fs';
import { writeConvertedModel } from '../../src/model/converted.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { readModelContents } from '../../src/model/sources.js';
import type { StateDict } from '../../src/model/state-dict.js';
import type { WeightDType } from '../../src/model/weight-dtypes.js';
import { definitionOf, fixturePath, syntheticWeights, type FixtureCase } from './fixtures.js';
import { parseConfigYaml } from '../../src/model/config.js';

/** The converted files of a fixture case: tiny from its real model.pt, base/large from their synthetic weights. */
export async function convertedFiles(name: FixtureCase, dtype: WeightDType): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  let definition = definitionOf(name);
  let modelConf = parseConfigYaml(readFileSync(fixturePath(name, 'config.yaml'), 'utf8')).modelConf;
  let tensors: StateDict;
  if (name === 'tiny' || name === 'tiny_wrapped') {
    const contents = await readModelContents(fixturePath(name));
    ({ definition, modelConf } = contents);
    tensors = contents.weights.tensors;
  } else {
    tensors = syntheticWeights(name);
  }
  const network = new Emotion2VecNetwork(definition);
  await writeConvertedModel(
    {
      definition,
      modelConf,
      weights: { tensors, format: 'safetensors', notes: [] },
      parameters: network.params.specs(),
      sourceFile: name,
      dtype,
    },
    async (file, bytes) => {
      files[file] = bytes.slice();
    },
  );
  return files;
}

/** Total bytes of the weight shards. */
export function shardBytes(files: Record<string, Uint8Array>): number {
  return Object.entries(files).reduce((sum, [file, bytes]) => sum + (file.endsWith('.bin') ? bytes.length : 0), 0);
}
