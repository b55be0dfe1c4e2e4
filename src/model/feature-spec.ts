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
import { ConfigError } from '../errors.js';

/** One CNN layer: output channels, kernel width, stride. */
export interface ConvLayerSpec {
  readonly channels: number;
  readonly kernel: number;
  readonly stride: number;
}

/** Parses a feature_encoder_spec string into its conv layers. Throws a ConfigError naming the problem. */
export function parseFeatureEncoderSpec(text: string, field = 'feature_encoder_spec'): ConvLayerSpec[] {
  const tokens = text.match(/\d+|[[\]()+*,]|\S/g) ?? [];
  let position = 0;

  const fail = (what: string): never => {
    throw new ConfigError(
      'CONFIG_INVALID',
      `config.yaml: ${field} ${JSON.stringify(text)} is not a list of (channels, kernel, stride) tuples: ${what}. ` +
        `Expected e.g. '[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]'.`,
    );
  };
  const peek = (): string | undefined => tokens[position];
  const expect = (token: string): void => {
    if (tokens[position] !== token) fail(`expected '${token}' at token ${position + 1}, found ${tokens[position] ?? 'the end'}`);
    position++;
  };
  const integer = (): number => {
    const token = tokens[position];
    if (token === undefined || !/^\d+$/.test(token)) fail(`expected an integer at token ${position + 1}, found ${token ?? 'the end'}`);
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
    return { channels, kernel, stride };
  };
  const list = (): ConvLayerSpec[] => {
    expect('[');
    const items = [tuple()];
    while (peek() === ',') {
      position++;
      if (peek() === ']') break;
      items.push(tuple());
    }
    expect(']');
    return items;
  };
  const repeat = (items: ConvLayerSpec[], times: number): ConvLayerSpec[] => Array.from({ length: times }, () => items).flat();
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
  }
  if (position !== tokens.length) fail(`unexpected ${tokens[position]} at token ${position + 1}`);
  if (layers.length === 0) fail('it has no layers');
  return layers;
}
