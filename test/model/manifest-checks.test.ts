import { describe, expect, it } from 'vitest';
import { ConfigError, CheckpointError } from '../../src/errors.js';
import { checkManifestStructure } from '../../src/model/manifest-checks.js';

const base = () => ({
  format: 'emotion2vec-tfjs',
  formatVersion: 1,
  modelConf: {},
  tokens: ['a', 'b'],
  weightsManifest: [
    {
      paths: ['s1.bin', 's2.bin'],
      weights: [
        { name: 'w', shape: [2, 3], dtype: 'float32' },
        { name: 'h', shape: [4], dtype: 'float16' },
      ],
    },
  ],
});

describe('checkManifestStructure', () => {
  it("bounds the shard bytes by the tensors' needs (float32 4 bytes, float16 2)", () => {
    expect(checkManifestStructure(base())).toEqual({ shardPaths: ['s1.bin', 's2.bin'], shardBytes: 2 * 3 * 4 + 4 * 2 });
  });

  it.each([
    ['a shard listed twice', (m: any) => (m.weightsManifest[0].paths = ['s1.bin', 's1.bin']), /listed more than once/],
    [
      'a shard path leaving the folder',
      (m: any) => (m.weightsManifest[0].paths = ['../x.bin']),
      /not a plain file name/,
    ],
    ['[null] groups', (m: any) => (m.weightsManifest = [null]), /weightsManifest\[0\] is null/],
    ['a null weight', (m: any) => (m.weightsManifest[0].weights = [null]), /weights\[0\] is null/],
    ['a negative dimension', (m: any) => (m.weightsManifest[0].weights[0].shape = [-1]), /shape of "w"/],
    ['deep nesting', (m: any) => (m.modelConf = JSON.parse(`${'['.repeat(1000)}${']'.repeat(1000)}`)), /nests values/],
  ])('%s: CheckpointError', (_, edit, message) => {
    const manifest = base();
    edit(manifest);
    expect(() => checkManifestStructure(manifest)).toThrow(CheckpointError);
    expect(() => checkManifestStructure(manifest)).toThrow(message);
  });

  it('labels that are not strings: ConfigError naming the label', () => {
    expect(() => checkManifestStructure({ ...base(), tokens: ['a', 7] })).toThrow(ConfigError);
    expect(() => checkManifestStructure({ ...base(), tokens: ['a', 7] })).toThrow(/label 2 is 7/);
  });
});
