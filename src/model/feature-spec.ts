/**
 * Parser for `feature_encoder_spec`, the Python list expression that sizes the CNN feature extractor,
 * e.g. `'[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]'`.
 * Upstream evaluates it with Python's `eval`; we accept only this grammar and never evaluate anything:
 *
 *   spec  := term ('+' term)*
 *   term  := list ('*' int)? | int '*' list
 *   list  := '[' tuple (',' tuple)* ','? ']'
 *   tuple := '(' int ',' int ',' int ','? ')'
 */
import { ConfigError, quote } from '../errors.js';
import { CONFIG_LIMITS } from './limits.js';
import type { ConvLayerSpec } from '../layers/conv-feature-extractor.js';

/** Parses a feature_encoder_spec string into its conv layers. Throws a ConfigError naming the problem. */
export function parseFeatureEncoderSpec(text: string, field = 'feature_encoder_spec'): ConvLayerSpec[] {
  const tokens = text.match(/\d+|[[\]()+*,]|\S/g) ?? [];
  let position = 0;

  const fail = (what: string): never => {
    throw new ConfigError(
      'CONFIG_INVALID',
      `config.yaml: ${field} ${quote(text)} is not a list of (channels, kernel, stride) tuples: ${what}. ` +
        `Expected e.g. '[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]'.`,
    );
  };
  // Plain tokens print as they are; anything else (a 10^6-digit number, a control character) quoted and capped.
  const shown = (token: string | undefined): string =>
    token !== undefined && /^[\w[\]()+*,.-]{1,20}$/.test(token) ? token : quote(token, 20);
  const peek = (): string | undefined => tokens[position];
  const expect = (token: string): void => {
    if (tokens[position] !== token)
      fail(
        `expected '${token}' at token ${position + 1}, found ${tokens[position] === undefined ? 'the end' : shown(tokens[position])}`,
      );
    position++;
  };
  const integer = (): number => {
    const token = tokens[position];
    if (token === undefined || !/^\d+$/.test(token))
      fail(`expected an integer at token ${position + 1}, found ${token === undefined ? 'the end' : shown(token)}`);
    position++;
    return Number(token);
  };
  const tuple = (): ConvLayerSpec => {
    expect('(');
    const channels = integer();
    expect(',');
    const kernel = integer();
    expect(',');
    const stride = integer();
    if (peek() === ',') position++;
    expect(')');
    if (channels < 1 || kernel < 1 || stride < 1) fail(`(${channels}, ${kernel}, ${stride}) has a zero entry`);
    if (
      channels > CONFIG_LIMITS.featureEncoderChannels ||
      kernel > CONFIG_LIMITS.featureEncoderKernel ||
      stride > CONFIG_LIMITS.featureEncoderStride
    ) {
      fail(
        `(${channels}, ${kernel}, ${stride}) exceeds the bounds (${CONFIG_LIMITS.featureEncoderChannels} channels, kernel and stride ${CONFIG_LIMITS.featureEncoderKernel})`,
      );
    }
    return { channels, kernel, stride };
  };
  const list = (): ConvLayerSpec[] => {
    expect('[');
    const items = [tuple()];
    while (peek() === ',') {
      position++;
      if (peek() === ']') break;
      items.push(tuple());
      checkCount(items.length);
    }
    expect(']');
    return items;
  };
  // Bounded before anything is allocated: `[(64,10,5)] * 999999999` must be an error, not an out-of-memory abort.
  const checkCount = (count: number): void => {
    if (count > CONFIG_LIMITS.featureEncoderLayers)
      fail(
        `it has ${count > 1e15 ? 'more than 10^15' : count} layers; at most ${CONFIG_LIMITS.featureEncoderLayers} are accepted`,
      );
  };
  const repeat = (items: ConvLayerSpec[], times: number): ConvLayerSpec[] => {
    checkCount(items.length * times);
    return Array.from({ length: times }, () => items).flat();
  };
  const term = (): ConvLayerSpec[] => {
    if (peek() === '[') {
      const items = list();
      if (peek() !== '*') return items;
      position++;
      return repeat(items, integer());
    }
    const times = integer();
    expect('*');
    return repeat(list(), times);
  };

  const layers = term();
  while (peek() === '+') {
    position++;
    layers.push(...term());
    checkCount(layers.length);
  }
  if (position !== tokens.length) fail(`unexpected ${shown(tokens[position])} at token ${position + 1}`);
  if (layers.length === 0) fail('it has no layers');
  return layers;
}
