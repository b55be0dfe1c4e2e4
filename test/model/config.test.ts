import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/errors.js';
import { FRAME_HOP_SAMPLES, FRAME_WINDOW_SAMPLES } from '../../src/audio/frame-geometry.js';
import {
  frameCount,
  frameHop,
  minimumSamples,
  parseConfigYaml,
  parseTokens,
  positionalKernelSize,
} from '../../src/model/config.js';
import { fixturePath } from '../support/fixtures.js';

const yamlOf = (name: string) => readFileSync(fixturePath(name, 'config.yaml'), 'utf8');

/** The tiny config with one field changed (undefined deletes it). */
function tinyWith(path: string[], value: unknown): string {
  const { modelConf } = parseConfigYaml(yamlOf('tiny'));
  const doc = structuredClone(modelConf) as Record<string, unknown>;
  let node = doc;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return stringify({ model: 'Emotion2vec', model_conf: doc });
}

describe('parseConfigYaml', () => {
  it('reads every size of the fixture models from config.yaml', () => {
    const tiny = parseConfigYaml(yamlOf('tiny')).config;
    expect(tiny).toMatchObject({
      embedDim: 64,
      numHeads: 4,
      depth: 2,
      prenetDepth: 1,
      numExtraTokens: 10,
      normEps: 1e-5,
      layerNormFirst: false,
      normalize: true,
      useAlibi: true,
      numAlibiHeads: 4,
      convPosGroups: 4,
      convPosDepth: 5,
    });
    const base = parseConfigYaml(yamlOf('base')).config;
    expect(base).toMatchObject({
      embedDim: 768,
      numHeads: 12,
      depth: 8,
      prenetDepth: 4,
      numAlibiHeads: 12,
      convPosGroups: 16,
    });
    expect(base.featureEncoder[0]).toEqual({ channels: 512, kernel: 10, stride: 5 });
    const large = parseConfigYaml(yamlOf('large')).config;
    expect(large).toMatchObject({ embedDim: 1024, numHeads: 16, depth: 16, prenetDepth: 8 });
  });

  it('reads norm_eps written as 1e-05, 1.0e-05 or a string', () => {
    for (const text of ['1.0e-05', "'1e-05'"]) {
      const yaml = yamlOf('tiny').replace('norm_eps: 1e-05', `norm_eps: ${text}`);
      expect(parseConfigYaml(yaml).config.normEps).toBe(1e-5);
    }
  });

  it('derives the frame arithmetic from the CNN spec: 400 samples per first frame, then one per 320', () => {
    const { config } = parseConfigYaml(yamlOf('base'));
    expect(minimumSamples(config)).toBe(400);
    expect(frameCount(config, 399)).toBe(0);
    expect(frameCount(config, 400)).toBe(1);
    expect(frameCount(config, 720)).toBe(2);
    expect(frameCount(config, 84270)).toBe(263);
    expect(positionalKernelSize(config)).toBe(19);
  });

  it("every fixture's CNN gives the frames that audio/frame-geometry.ts states", () => {
    for (const name of ['tiny', 'base', 'large']) {
      const { config } = parseConfigYaml(yamlOf(name));
      expect(frameHop(config)).toBe(FRAME_HOP_SAMPLES);
      expect(minimumSamples(config)).toBe(FRAME_WINDOW_SAMPLES);
    }
  });

  it('refuses a CNN with another stride or receptive field instead of mistiming segments and frame scores', () => {
    const spec = ['modalities', 'audio', 'feature_encoder_spec'];
    // Stride 160 (10 ms frames), then stride 320 with a 560-sample receptive field.
    for (const other of [
      '[(64, 10, 5)] + [(64, 3, 2)] * 4 + [(64,2,2)]',
      '[(64, 10, 5)] + [(64, 3, 2)] * 4 + [(64,2,2)] + [(64,3,2)]',
    ]) {
      expect(() => parseConfigYaml(tinyWith(spec, other))).toThrow(
        expect.objectContaining({
          code: 'CONFIG_UNSUPPORTED',
          message: expect.stringMatching(/feature_encoder_spec gives a frame every \d+ samples/),
        }),
      );
    }
  });

  it.each([
    [['embed_dim'], undefined, 'model_conf.embed_dim is missing'],
    [['num_heads'], 'four', 'model_conf.num_heads is "four"; expected a positive integer'],
    [['modalities', 'audio', 'conv_pos_groups'], 0, 'model_conf.modalities.audio.conv_pos_groups is 0'],
    [['modalities', 'audio', 'feature_encoder_spec'], '[(512, 10)]', 'feature_encoder_spec'],
    [['layer_norm_first'], 'yes', 'model_conf.layer_norm_first is "yes"; expected true or false'],
    [['num_heads'], 5, 'must be divisible by model_conf.num_heads (5)'],
    [['modalities', 'audio', 'num_alibi_heads'], 8, 'num_alibi_heads (8) cannot exceed'],
    [['modalities'], undefined, 'model_conf.modalities.audio is missing'],
  ])('names the field when %j is %j', (path, value, fragment) => {
    const error = (() => {
      try {
        parseConfigYaml(tinyWith(path as string[], value));
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(fragment);
  });

  it('refuses what it cannot run, saying so', () => {
    expect(() => parseConfigYaml(tinyWith(['modalities', 'audio', 'extractor_mode'], 'default'))).toThrow(
      /only 'layer_norm'/,
    );
    expect(() => parseConfigYaml(tinyWith(['modalities', 'audio', 'learned_alibi'], true))).toThrow(/learned ALiBi/);
    expect(() => parseConfigYaml('model_conf: [1, 2]')).toThrow(/no `model_conf` mapping/);
    expect(() => parseConfigYaml('model_conf: {a: [}')).toThrow(/not valid YAML/);
  });
});

describe('parseTokens', () => {
  it('keeps tokens.txt order and skips blank lines', () => {
    const tokens = parseTokens(readFileSync(fixturePath('tiny', 'tokens.txt'), 'utf8'));
    expect(tokens).toEqual([
      '生气/angry',
      '厌恶/disgusted',
      '恐惧/fearful',
      '开心/happy',
      '中立/neutral',
      '其他/other',
      '难过/sad',
      '吃惊/surprised',
      '<unk>',
    ]);
    expect(parseTokens('a\r\n\r\nb\n')).toEqual(['a', 'b']);
  });
});
