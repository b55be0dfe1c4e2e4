/**
 * The analysis options every surface takes (analyze's flags, `POST /predict_emotion`'s form fields, a queue job's
 * JSON), defined once: their names, defaults, validation and what they ask of the model. Each surface names its
 * own spelling ({@link OptionSpelling}: snake_case form fields, camelCase JSON) and its own error codes; the rules
 * are the same everywhere.
 */
import type { Emotion2VecError } from '../errors.js';
import type { Granularity, PredictOptions } from '../model/emotion2vec.js';

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
  /** Write processed_audio.wav (the 16 kHz signal the model saw) into the result folder; 64 KB per second of audio. */
  readonly processedAudio: boolean;
  /** Speech and silence segments with their own scores: timeline.json and .csv in a folder, `timeline` inline. */
  readonly timeline: boolean;
  /** timeline.svg too, a chart of the scores over time (implies `timeline`). */
  readonly plot: boolean;
}

/** The defaults: analyze's, for every surface (a job queued by an older version lacks the newer options). */
export const DEFAULT_ANALYSIS_OPTIONS: AnalysisOptions = {
  granularity: 'utterance',
  embedding: false,
  trimSilence: false,
  strict: false,
  processedAudio: true,
  timeline: false,
  plot: false,
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
    options[option] = option === 'granularity' ? granularity(name, value, spelling) : flag(name, value, spelling);
  }
  return options as unknown as AnalysisOptions;
}

/** The model's options for an analysis; `output` 'folder' also asks for the waveform processed_audio.wav is made of. */
export function toPredictOptions(options: AnalysisOptions, output: 'folder' | 'inline'): PredictOptions {
  return {
    granularity: options.granularity,
    embedding: options.embedding,
    trimSilence: options.trimSilence,
    strict: options.strict,
    timeline: options.timeline || options.plot,
    waveform: output === 'folder' && options.processedAudio,
  };
}

function granularity(name: string, value: unknown, spelling: OptionSpelling): Granularity {
  if ((GRANULARITIES as readonly unknown[]).includes(value)) return value as Granularity;
  throw spelling.invalidValue(name, GRANULARITIES.map((g) => `"${g}"`).join(' or '), value);
}

function flag(name: string, value: unknown, spelling: OptionSpelling): boolean {
  const text = spelling.values === 'text';
  const parsed = text ? (typeof value === 'string' ? TEXT_BOOLEANS[value.trim().toLowerCase()] : undefined) : value;
  if (typeof parsed !== 'boolean') throw spelling.invalidValue(name, 'true or false', value);
  return parsed;
}
