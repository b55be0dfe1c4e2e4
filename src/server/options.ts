/** The option fields of `POST /predict_emotion`, checked by name and value (multipart fields are strings). */
import { UsageError } from '../errors.js';
import type { Granularity, PredictOptions } from '../model/emotion2vec.js';

/** What a request asked for. */
export interface RequestOptions {
  readonly granularity: Granularity;
  /** Return the embedding inline (`embedding.data`), from which a client writes embedding.npy. */
  readonly embedding: boolean;
  readonly trimSilence: boolean;
  readonly strict: boolean;
  /** Add `timeline`: speech segments with their own scores (docs/long-audio.md). */
  readonly timeline: boolean;
}

/** Accepted option fields. */
const OPTION_FIELDS = ['granularity', 'embedding', 'trim_silence', 'strict', 'timeline'] as const;
const BOOLEAN_VALUES: Readonly<Record<string, boolean>> = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false };

function booleanField(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  const parsed = BOOLEAN_VALUES[value.trim().toLowerCase()];
  if (parsed === undefined) throw new UsageError('REQUEST_INVALID_OPTION', `The field "${name}" must be true or false; got "${value.slice(0, 40)}".`);
  return parsed;
}

/**
 * Reads the option fields of a request.
 * @throws UsageError `REQUEST_UNKNOWN_OPTION` for a field we do not know, `REQUEST_INVALID_OPTION` for a bad value.
 */
export function parseRequestOptions(fields: Readonly<Record<string, string>>): RequestOptions {
  const unknown = Object.keys(fields).filter((name) => !(OPTION_FIELDS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new UsageError(
      'REQUEST_UNKNOWN_OPTION',
      `Unknown field(s): ${unknown.map((name) => `"${name.slice(0, 40)}"`).join(', ')}. POST /predict_emotion takes the file field "audio" and the options ${OPTION_FIELDS.join(', ')}.`,
    );
  }
  const granularity = fields.granularity ?? 'utterance';
  if (granularity !== 'utterance' && granularity !== 'frame') {
    throw new UsageError('REQUEST_INVALID_OPTION', `The field "granularity" must be "utterance" or "frame"; got "${granularity.slice(0, 40)}".`);
  }
  return {
    granularity,
    embedding: booleanField('embedding', fields.embedding),
    trimSilence: booleanField('trim_silence', fields.trim_silence),
    strict: booleanField('strict', fields.strict),
    timeline: booleanField('timeline', fields.timeline),
  };
}

/** The library options of a request. */
export function toPredictOptions(options: RequestOptions): PredictOptions {
  return { granularity: options.granularity, embedding: options.embedding, trimSilence: options.trimSilence, strict: options.strict, timeline: options.timeline };
}
