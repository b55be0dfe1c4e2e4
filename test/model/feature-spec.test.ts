import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseFeatureEncoderSpec } from '../../src/model/feature-spec.js';

describe('parseFeatureEncoderSpec', () => {
  it('expands the emotion2vec spec to 7 layers with 320x total stride', () => {
    const layers = parseFeatureEncoderSpec('[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]');
    expect(layers).toHaveLength(7);
    expect(layers[0]).toEqual({ channels: 512, kernel: 10, stride: 5 });
    expect(layers.slice(1, 5).every((l) => l.kernel === 3 && l.stride === 2)).toBe(true);
    expect(layers.reduce((s, l) => s * l.stride, 1)).toBe(320);
  });

  it('accepts n * [...] and trailing commas', () => {
    expect(parseFeatureEncoderSpec('2 * [(8, 3, 1,)]')).toEqual([
      { channels: 8, kernel: 3, stride: 1 },
      { channels: 8, kernel: 3, stride: 1 },
    ]);
  });

  it.each([
    ['__import__("os").system("x")', 'expected'],
    ['[(512, 10)]', "expected ','"],
    ['[(512, 10, 5)] - [(1,1,1)]', 'unexpected -'],
    ['[(0, 10, 5)]', 'zero entry'],
    ['', 'expected'],
  ])('refuses %j without evaluating it', (text, fragment) => {
    expect(() => parseFeatureEncoderSpec(text)).toThrow(ConfigError);
    expect(() => parseFeatureEncoderSpec(text)).toThrow(fragment);
  });
});
