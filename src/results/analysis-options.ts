/**
 * The analysis options every surface takes (analyze's flags, `POST /predict_emotion`'s form fields, a queue job's
 * JSON), defined once: their names, defaults, validation and what they ask of the model. Each surface names its
 * own spelling ({@link OptionSpelling}: snake_case form fields, camelCase JSON) and its own error codes; the rules
 * are the same everywhere.
 */
import type { Emotion2VecError } from '../errors.js';
import type { Granularity, PredictOptions } from '../model/emotion2vec.js';
import { REPLY_LANGUAGES, type ReplyLanguage } from './fallback.js';

/**
 * How processed_audio.wav (the 16 kHz mono signal the model saw) is written into a result folder: 16-bit PCM (the
 * WebUI's "统一为 16kHz WAV", 32 KB per second, readable by every WAV reader), 32-bit float (the samples exactly,
 * 64 KB per second), or not at all.
 */
export type ProcessedAudioFormat = 'pcm16' | 'float32' | 'none';

export const PROCESSED_AUDIO_FORMATS: readonly ProcessedAudioFormat[] = ['pcm16', 'float32', 'none'];

/** What to analyse and what to write for one input. */
export interface AnalysisOptions {
  /** Shape of the embedding: (D,) per input or (T, D), a row per 20 ms frame. */
  readonly granularity: Granularity;
  /** Keep the embedding (embedding.npy in a folder, `embedding.data` inline). */
  readonly embedding: boolean;
  /** Trim leading and trailing silence first (changes results vs upstream). */
  readonly trimSilence: boolean;
  /** Treat audio quality warnings as errors (`AUDIO_QUALITY`). */
  readonly strict: boolean;
  /** processed_audio.wav in the result folder: 16-bit PCM (default), 32-bit float, or none. */
  readonly processedAudio: ProcessedAudioFormat;
  /** Speech and silence segments with their own scores: timeline.json and .csv in a folder, `timeline` inline. */
  readonly timeline: boolean;
  /** timeline.svg too, a chart of the scores over time (implies `timeline`); with frame granularity also the emotion
   * curve, frame_scores.svg. */
  readonly plot: boolean;
  /** Language of the record's `suggested_response` (the fallback policy's reply): 'zh' (default) or 'en'. */
  readonly replyLanguage: ReplyLanguage;
  /** An answer without a folder carries the whole frame series, not at most 2000 rows of it (frame-series.ts). */
  readonly fullFrameSeries: boolean;
}

/** The defaults: analyze's, for every surface (a job queued by an older version lacks the newer options). */
export const DEFAULT_ANALYSIS_OPTIONS: AnalysisOptions = {
  granularity: 'utterance',
  embedding: false,
  trimSilence: false,
  strict: false,
  processedAudio: 'pcm16',
  timeline: false,
  plot: false,
  replyLanguage: 'zh',
  fullFrameSeries: false,
};

const GRANULARITIES: readonly Granularity[] = ['utterance', 'frame'];
/** Form fields are text: these spellings of a yes or a no are taken (case and surrounding spaces aside). */
const TEXT_BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  '1': true,
  yes: true,
  on: true,
  false: false,
  '0': false,
  no: false,
  off: false,
};

/** How one surface spells the options, and how it reports a mistake. */
export interface OptionSpelling {
  /** The surface's name of each option it takes, in the order its messages list them; the others keep their default. */
  readonly names: { readonly [K in keyof AnalysisOptions]?: string };
  /** 'text': every value is a string (form fields: "true", "1", "yes"...); 'json': JSON values (true / false). */
  readonly values: 'text' | 'json';
  /** The error for names the surface does not take (`known`: the names it does). */
  unknownOptions(names: readonly string[], known: readonly string[]): Emotion2VecError;
  /** The error for a value that is not one of `expected` (e.g. `true or false`). */
  invalidValue(name: string, expected: string, value: unknown): Emotion2VecError;
}

/**
 * Reads a surface's options: known names only (`fields` holds nothing else), each value checked, missing ones set
 * to their default. @throws the surface's own errors (see {@link OptionSpelling}).
 */
export function parseAnalysisOptions(
  fields: Readonly<Record<string, unknown>>,
  spelling: OptionSpelling,
): AnalysisOptions {
  const entries = Object.entries(spelling.names) as [keyof AnalysisOptions, string][];
  const known = entries.map(([, name]) => name);
  const unknown = Object.keys(fields).filter((name) => !known.includes(name));
  if (unknown.length > 0) throw spelling.unknownOptions(unknown, known);
  const options: Record<string, unknown> = { ...DEFAULT_ANALYSIS_OPTIONS };
  for (const [option, name] of entries) {
    const value = fields[name];
    if (value === undefined) continue;
    options[option] =
      option === 'granularity'
        ? oneOf(GRANULARITIES, name, value, spelling)
        : option === 'replyLanguage'
          ? oneOf(REPLY_LANGUAGES, name, value, spelling)
          : option === 'processedAudio'
            ? processedAudio(name, value, spelling)
            : flag(name, value, spelling);
  }
  return options as unknown as AnalysisOptions;
}

/**
 * The model's options for an analysis: frame granularity asks for the frame scores too (the frame series), and
 * `output` 'folder' for the waveform processed_audio.wav is made of.
 */
export function toPredictOptions(options: AnalysisOptions, output: 'folder' | 'inline'): PredictOptions {
  return {
    granularity: options.granularity,
    embedding: options.embedding,
    trimSilence: options.trimSilence,
    strict: options.strict,
    timeline: options.timeline || options.plot,
    ...(options.granularity === 'frame' ? { frameScores: true } : {}),
    waveform: output === 'folder' && options.processedAudio !== 'none',
  };
}

function oneOf<T extends string>(values: readonly T[], name: string, value: unknown, spelling: OptionSpelling): T {
  if ((values as readonly unknown[]).includes(value)) return value as T;
  throw spelling.invalidValue(name, values.map((v) => `"${v}"`).join(' or '), value);
}

/**
 * A processed-audio format; JSON (a job queued by version 0.1) may still say `true` (then: float32, what 0.1
 * wrote) or `false` (none).
 */
function processedAudio(name: string, value: unknown, spelling: OptionSpelling): ProcessedAudioFormat {
  if (spelling.values === 'json' && typeof value === 'boolean') return value ? 'float32' : 'none';
  return oneOf(PROCESSED_AUDIO_FORMATS, name, value, spelling);
}

function flag(name: string, value: unknown, spelling: OptionSpelling): boolean {
  const text = spelling.values === 'text';
  const parsed = text ? (typeof value === 'string' ? TEXT_BOOLEANS[value.trim().toLowerCase()] : undefined) : value;
  if (typeof parsed !== 'boolean') throw spelling.invalidValue(name, 'true or false', value);
  return parsed;
}
