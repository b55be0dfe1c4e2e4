import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, Emotion2VecError, MAX_MESSAGE_CHARS, quote } from '../../src/errors.js';
import { parseConfigYaml, parseTokens } from '../../src/model/config.js';
import { parseFeatureEncoderSpec } from '../../src/model/feature-spec.js';
import { exceedsNesting } from '../../src/model/limits.js';
import { fixturePath } from '../support/fixtures.js';

const yaml = readFileSync(fixturePath('tiny', 'config.yaml'), 'utf8');
const withField = (field: string, value: string) =>
  yaml.replace(new RegExp(`\\n(\\s+)${field}: .*`), `\n$1${field}: ${value}`);

function expectConfigError(run: () => unknown, message: RegExp): void {
  const started = performance.now();
  expect(run).toThrow(ConfigError);
  expect(run).toThrow(message);
  expect(performance.now() - started).toBeLessThan(1000);
}

describe('config bounds are checked before anything is allocated', () => {
  it.each([
    ['depth', '1000000', /model_conf.depth is 1000000; at most 128/],
    ['embed_dim', '1048576', /embed_dim is 1048576; at most 8192/],
    ['mlp_ratio', '1e300', /mlp_ratio is 1e\+300; at most 64/],
  ])('%s: %s -> ConfigError', (field, value, message) => {
    expect(yaml).toMatch(new RegExp(`\\n\\s+${field}: `));
    expectConfigError(() => parseConfigYaml(withField(field, value)), message);
  });

  it('sizes that are each in bounds but together describe an absurd network: ConfigError', () => {
    const huge = withField('embed_dim', '8192')
      .replace(/\n(\s+)depth: .*/, '\n$1depth: 128')
      .replace(/\n(\s+)mlp_ratio: .*/, '\n$1mlp_ratio: 64')
      .replace(/\n(\s+)num_heads: .*/, '\n$1num_heads: 8');
    expectConfigError(() => parseConfigYaml(huge), /about .* weights; at most/);
  });

  it('feature_encoder_spec repetitions are bounded before the list is built', () => {
    expectConfigError(() => parseFeatureEncoderSpec('[(64,10,5)] * 999999999'), /999999999 layers; at most 64/);
    expectConfigError(() => parseFeatureEncoderSpec(`[(64,10,5)] * ${'9'.repeat(100_000)}`), /more than 10\^15 layers/);
    expectConfigError(() => parseFeatureEncoderSpec('[(64,10,5)]' + ' + [(64,10,5)]'.repeat(100)), /65 layers/);
    expectConfigError(() => parseFeatureEncoderSpec('[(1000000,10,5)]'), /exceeds the bounds/);
  });

  it('nesting is measured without recursion and stops at the bound', () => {
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(exceedsNesting(deep)).toBe(true);
    expect(exceedsNesting({ a: { b: [1, 2] } })).toBe(false);
  });

  it('tokens.txt: labels of sane length only', () => {
    expect(parseTokens('a\n\nb\n')).toEqual(['a', 'b']);
    expect(() => parseTokens('x'.repeat(5000))).toThrow(/at most 1000 characters/);
  });
});

describe('error messages are capped', () => {
  it('quote() quotes and shortens a user value, escaping control characters', () => {
    expect(quote('ab')).toBe('"ab"');
    expect(quote('\u001b[31mred')).toBe('"\\u{1b}[31mred"');
    expect(quote('x'.repeat(1000), 10)).toBe('"xxxxxxxxxx…" (1000 characters)');
    expect(quote({ a: 1 })).toBe('an object with keys {a}');
  });

  it('no message is longer than MAX_MESSAGE_CHARS plus the note of what was cut', () => {
    const error = new Emotion2VecError('CONFIG_INVALID', 'y'.repeat(10 * MAX_MESSAGE_CHARS));
    expect(error.message.length).toBeLessThan(MAX_MESSAGE_CHARS + 40);
    expect(error.message).toMatch(/… \(\d+ more characters\)$/);
  });
});
