/**
 * The model's configuration, read from the ModelScope `config.yaml` (`model_conf`) and `tokens.txt`.
 * Every size of the network comes from here; nothing is hard-coded for one model.
 */
import { parse as parseYaml } from 'yaml';
import { FRAME_HOP_SAMPLES, FRAME_WINDOW_SAMPLES } from '../audio/frame-geometry.js';
import { ConfigError, quote } from '../errors.js';
import { CONFIG_LIMITS, exceedsNesting, MAX_NESTING_DEPTH, TOKEN_LIMITS } from './limits.js';
import type { ConvLayerSpec } from '../layers/conv-feature-extractor.js';
import { parseFeatureEncoderSpec } from './feature-spec.js';

/** Everything the encoder and head need to know, in one flat, validated object. */
export interface Emotion2VecConfig {
  /** Transformer width D (768 base, 1024 large). */
  readonly embedDim: number;
  readonly numHeads: number;
  /** Number of main Transformer blocks. */
  readonly depth: number;
  /** Number of prenet (context encoder) blocks. */
  readonly prenetDepth: number;
  readonly mlpRatio: number;
  /** Epsilon of the Transformer blocks' LayerNorms. */
  readonly normEps: number;
  /** Whether the Transformer LayerNorms have a gain and bias. */
  readonly normAffine: boolean;
  /** Pre-norm blocks when true, post-norm (emotion2vec) when false. */
  readonly layerNormFirst: boolean;
  /** Layer-normalise the whole waveform before the encoder. */
  readonly normalize: boolean;
  /** Learned tokens prepended before the prenet and removed from the output. */
  readonly numExtraTokens: number;
  /** CNN feature extractor layers. */
  readonly featureEncoder: readonly ConvLayerSpec[];
  readonly convPosWidth: number;
  readonly convPosGroups: number;
  readonly convPosDepth: number;
  /** LayerNorm (with affine) before the positional convolution. */
  readonly convPosPreLn: boolean;
  /** ALiBi relative-position biases in attention. */
  readonly useAlibi: boolean;
  /** Heads that carry an ALiBi bias (the first `numAlibiHeads`). */
  readonly numAlibiHeads: number;
  /** One learned ALiBi scale per head (else one for all heads). */
  readonly alibiScalePerHead: boolean;
  /** One learned ALiBi scale per block (else one for all blocks). */
  readonly alibiScalePerLayer: boolean;
}

/** A configuration plus the labels of its classification head. */
export interface ModelDefinition {
  readonly config: Emotion2VecConfig;
  /**
   * Every line of tokens.txt, in order: the classification head has one output per entry. Empty: embedding-only model.
   */
  readonly tokens: readonly string[];
}

type Yaml = Record<string, unknown>;

/** A parsed config.yaml: the validated config plus the raw `model_conf` mapping it came from. */
export interface ParsedConfigYaml {
  readonly config: Emotion2VecConfig;
  readonly modelConf: Record<string, unknown>;
}

/** Parses the text of a ModelScope `config.yaml`. Throws a ConfigError that names the missing or wrong field. */
export function parseConfigYaml(text: string): ParsedConfigYaml {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigError('CONFIG_INVALID', `config.yaml is not valid YAML: ${quote((error as Error).message, 300)}`, {
      cause: error,
    });
  }
  if (exceedsNesting(document)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `config.yaml nests values more than ${MAX_NESTING_DEPTH} levels deep; an emotion2vec config.yaml nests 3. Use the config.yaml that came with the checkpoint.`,
    );
  }
  if (!isObject(document)) {
    throw new ConfigError('CONFIG_INVALID', 'config.yaml must be a mapping with a `model_conf` section.');
  }
  const modelConf = document.model_conf;
  if (!isObject(modelConf)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      'config.yaml has no `model_conf` mapping: is this a ModelScope emotion2vec config.yaml?',
    );
  }
  return { config: configFromModelConf(modelConf), modelConf };
}

/** Builds the config from an already parsed `model_conf` mapping (as config.yaml has it). */
export function configFromModelConf(modelConf: Yaml): Emotion2VecConfig {
  if (exceedsNesting(modelConf)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `model_conf nests values more than ${MAX_NESTING_DEPTH} levels deep; an emotion2vec model_conf nests 3.`,
    );
  }
  const modalities = modelConf.modalities;
  const audio = isObject(modalities) ? modalities.audio : undefined;
  if (!isObject(audio)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      'config.yaml: model_conf.modalities.audio is missing; emotion2vec needs the audio modality settings.',
    );
  }
  const main = new FieldReader(modelConf, 'model_conf');
  const audioFields = new FieldReader(audio, 'model_conf.modalities.audio');

  const extractorMode = audioFields.string('extractor_mode', 'layer_norm');
  if (extractorMode !== 'layer_norm') {
    throw new ConfigError(
      'CONFIG_UNSUPPORTED',
      `config.yaml: model_conf.modalities.audio.extractor_mode is '${extractorMode}'; only 'layer_norm' (every emotion2vec checkpoint) is supported.`,
    );
  }
  if (audioFields.boolean('learned_alibi', false)) {
    throw new ConfigError(
      'CONFIG_UNSUPPORTED',
      'config.yaml: model_conf.modalities.audio.learned_alibi is true; learned ALiBi tables are not supported (emotion2vec uses fixed ALiBi with learned scales).',
    );
  }

  const embedDim = main.positiveInteger('embed_dim');
  const numHeads = main.positiveInteger('num_heads');
  const useAlibi = audioFields.boolean('use_alibi_encoder', false);
  const config: Emotion2VecConfig = {
    embedDim,
    numHeads,
    depth: main.nonNegativeInteger('depth'),
    prenetDepth: audioFields.nonNegativeInteger('prenet_depth'),
    mlpRatio: main.positiveNumber('mlp_ratio'),
    normEps: main.positiveNumber('norm_eps'),
    normAffine: main.boolean('norm_affine', true),
    layerNormFirst: main.boolean('layer_norm_first', false),
    normalize: main.boolean('normalize', false),
    numExtraTokens: audioFields.nonNegativeInteger('num_extra_tokens'),
    featureEncoder: parseFeatureEncoderSpec(
      audioFields.string('feature_encoder_spec'),
      'model_conf.modalities.audio.feature_encoder_spec',
    ),
    convPosWidth: audioFields.positiveInteger('conv_pos_width'),
    convPosGroups: audioFields.positiveInteger('conv_pos_groups'),
    convPosDepth: audioFields.positiveInteger('conv_pos_depth'),
    convPosPreLn: audioFields.boolean('conv_pos_pre_ln', false),
    useAlibi,
    numAlibiHeads: useAlibi ? audioFields.positiveInteger('num_alibi_heads', numHeads) : 0,
    alibiScalePerHead: audioFields.boolean('learned_alibi_scale_per_head', false),
    alibiScalePerLayer: audioFields.boolean('learned_alibi_scale_per_layer', false),
  };
  validate(config);
  return config;
}

/** Parses tokens.txt: one label per non-empty line, order kept (it is the head's output order). */
export function parseTokens(text: string): string[] {
  const tokens = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  checkTokens(tokens, 'tokens.txt');
  return tokens;
}

/** Labels must be strings of sane length and count (tokens.txt lines, or model.json's `tokens`). */
export function checkTokens(tokens: unknown, where: string): asserts tokens is string[] {
  if (!Array.isArray(tokens))
    throw new ConfigError('CONFIG_INVALID', `${where}: the labels must be a list of strings; got ${quote(tokens)}.`);
  if (tokens.length > TOKEN_LIMITS.count) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${where} lists ${tokens.length} labels; at most ${TOKEN_LIMITS.count} are accepted. Use the tokens.txt that came with the checkpoint.`,
    );
  }
  const bad = tokens.findIndex(
    (token) => typeof token !== 'string' || token.length === 0 || token.length > TOKEN_LIMITS.length,
  );
  if (bad >= 0) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `${where}: label ${bad + 1} is ${quote(tokens[bad])}; every label must be a non-empty string of at most ${TOKEN_LIMITS.length} characters. Use the tokens.txt that came with the checkpoint.`,
      { details: { index: bad } },
    );
  }
}

/** Upstream drops labels starting with `unuse` (placeholders in the head) from results. */
export function isUnusedLabel(label: string): boolean {
  return label.startsWith('unuse');
}

/** The fewest 16 kHz samples that give one output frame (400 for emotion2vec's CNN). */
export function minimumSamples(config: Pick<Emotion2VecConfig, 'featureEncoder'>): number {
  let length = 1;
  for (const layer of [...config.featureEncoder].reverse()) length = (length - 1) * layer.stride + layer.kernel;
  return length;
}

/** Samples between the starts of two output frames: the product of the CNN's strides (320 for emotion2vec). */
export function frameHop(config: Pick<Emotion2VecConfig, 'featureEncoder'>): number {
  return config.featureEncoder.reduce((hop, layer) => hop * layer.stride, 1);
}

/** Number of output frames for a waveform of `samples` samples (0 if too short). */
export function frameCount(config: Pick<Emotion2VecConfig, 'featureEncoder'>, samples: number): number {
  let length = samples;
  for (const layer of config.featureEncoder) {
    length = Math.floor((length - layer.kernel) / layer.stride) + 1;
    if (length < 1) return 0;
  }
  return length;
}

/** Kernel width of each positional convolution layer, as upstream derives it. */
export function positionalKernelSize(config: Pick<Emotion2VecConfig, 'convPosWidth' | 'convPosDepth'>): number {
  return Math.max(3, Math.floor(config.convPosWidth / config.convPosDepth));
}

function validate(config: Emotion2VecConfig): void {
  const problem = (message: string): never => {
    throw new ConfigError('CONFIG_INVALID', `config.yaml: ${message}`);
  };
  if (config.embedDim % config.numHeads !== 0) {
    problem(
      `model_conf.embed_dim (${config.embedDim}) must be divisible by model_conf.num_heads (${config.numHeads}).`,
    );
  }
  if (config.embedDim % config.convPosGroups !== 0) {
    problem(
      `model_conf.embed_dim (${config.embedDim}) must be divisible by model_conf.modalities.audio.conv_pos_groups (${config.convPosGroups}).`,
    );
  }
  if (config.numAlibiHeads > config.numHeads) {
    problem(
      `model_conf.modalities.audio.num_alibi_heads (${config.numAlibiHeads}) cannot exceed model_conf.num_heads (${config.numHeads}).`,
    );
  }
  const bounded: [string, number, number][] = [
    ['model_conf.embed_dim', config.embedDim, CONFIG_LIMITS.embed_dim],
    ['model_conf.num_heads', config.numHeads, CONFIG_LIMITS.num_heads],
    ['model_conf.depth', config.depth, CONFIG_LIMITS.depth],
    ['model_conf.modalities.audio.prenet_depth', config.prenetDepth, CONFIG_LIMITS.prenet_depth],
    ['model_conf.mlp_ratio', config.mlpRatio, CONFIG_LIMITS.mlp_ratio],
    ['model_conf.modalities.audio.num_extra_tokens', config.numExtraTokens, CONFIG_LIMITS.num_extra_tokens],
    ['model_conf.modalities.audio.conv_pos_width', config.convPosWidth, CONFIG_LIMITS.conv_pos_width],
    ['model_conf.modalities.audio.conv_pos_groups', config.convPosGroups, CONFIG_LIMITS.conv_pos_groups],
    ['model_conf.modalities.audio.conv_pos_depth', config.convPosDepth, CONFIG_LIMITS.conv_pos_depth],
    ['model_conf.modalities.audio.num_alibi_heads', config.numAlibiHeads, CONFIG_LIMITS.num_alibi_heads],
  ];
  for (const [field, value, max] of bounded) {
    if (value > max)
      problem(
        `${field} is ${value}; at most ${max} is accepted (emotion2vec+ large uses far less). Use the config.yaml that came with the checkpoint.`,
      );
  }
  const weights = approximateParameterCount(config);
  if (weights > CONFIG_LIMITS.parameters) {
    problem(
      `model_conf describes a network of about ${weights.toExponential(1)} weights; at most ${CONFIG_LIMITS.parameters.toExponential(1)} are accepted. Use the config.yaml that came with the checkpoint.`,
    );
  }
  if (config.depth + config.prenetDepth === 0) {
    problem(
      'model_conf.depth and model_conf.modalities.audio.prenet_depth are both 0: the encoder has no Transformer block.',
    );
  }
  checkFrameGeometry(config);
}

/**
 * Segmentation, timelines and frame scores count in the frames of audio/frame-geometry.ts; a CNN that gave other
 * frames would put every segment edge and timestamp in the wrong place, so such a config is refused outright.
 */
function checkFrameGeometry(config: Emotion2VecConfig): void {
  const hop = frameHop(config);
  const window = minimumSamples(config);
  if (hop !== FRAME_HOP_SAMPLES || window !== FRAME_WINDOW_SAMPLES) {
    throw new ConfigError(
      'CONFIG_UNSUPPORTED',
      `config.yaml: model_conf.modalities.audio.feature_encoder_spec gives a frame every ${hop} samples, each reading ${window}; ` +
        `only emotion2vec's frames (${FRAME_WINDOW_SAMPLES} samples every ${FRAME_HOP_SAMPLES}, 20 ms at 16 kHz) are supported. Use the config.yaml that came with the checkpoint.`,
      { details: { field: 'model_conf.modalities.audio.feature_encoder_spec', hop, window } },
    );
  }
}

/** Roughly the weights the config declares (the big matrices only): enough to refuse absurd sizes before building. */
function approximateParameterCount(config: Emotion2VecConfig): number {
  const d = config.embedDim;
  const blocks = (config.depth + config.prenetDepth) * (4 + 2 * config.mlpRatio) * d * d;
  const positional = config.convPosDepth * (d / config.convPosGroups) * d * positionalKernelSize(config);
  let inChannels = 1;
  let cnn = 0;
  for (const layer of config.featureEncoder) {
    cnn += inChannels * layer.channels * layer.kernel;
    inChannels = layer.channels;
  }
  return blocks + positional + cnn + inChannels * d;
}

function isObject(value: unknown): value is Yaml {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads typed fields from one YAML mapping, naming the full field path in every error. */
class FieldReader {
  constructor(
    private readonly section: Yaml,
    private readonly path: string,
  ) {}

  positiveInteger(name: string, fallback?: number): number {
    return this.number(name, fallback, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  }

  nonNegativeInteger(name: string, fallback?: number): number {
    return this.number(name, fallback, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  }

  positiveNumber(name: string, fallback?: number): number {
    return this.number(name, fallback, (v) => Number.isFinite(v) && v > 0, 'a positive number');
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.section[name];
    // Upstream reads fields with OmegaConf's get(): an absent or null field counts as false/unset.
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') this.fail(name, value, 'true or false');
    return value as boolean;
  }

  string(name: string, fallback?: string): string {
    const value = this.section[name];
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || value.length === 0) this.fail(name, value, 'a string');
    return value as string;
  }

  private number(name: string, fallback: number | undefined, ok: (v: number) => boolean, expected: string): number {
    let value = this.section[name];
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    // PyYAML (YAML 1.1) reads `1e-05` as a string; accept numeric strings the way OmegaConf does.
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) value = Number(value);
    if (typeof value !== 'number' || !ok(value)) this.fail(name, value, expected);
    return value as number;
  }

  private fail(name: string, value: unknown, expected: string): never {
    const found = value === undefined ? 'missing' : quote(value);
    throw new ConfigError(
      'CONFIG_INVALID',
      `config.yaml: ${this.path}.${name} is ${found}; expected ${expected}. Use the config.yaml that came with the checkpoint.`,
      { details: { field: `${this.path}.${name}` } },
    );
  }
}
