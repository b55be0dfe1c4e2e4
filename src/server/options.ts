/**
 * How `POST /predict_emotion` spells the analysis options (src/results/analysis-options.ts): snake_case form
 * fields whose values are text, mistakes reported as REQUEST_UNKNOWN_OPTION / REQUEST_INVALID_OPTION (400).
 */
import { UsageError } from '../errors.js';
import { parseAnalysisOptions, type AnalysisOptions, type OptionSpelling } from '../results/analysis-options.js';

/** The option fields a request may send beside the file field "audio". */
export const FORM_FIELDS: OptionSpelling = {
  names: {
    granularity: 'granularity',
    embedding: 'embedding',
    trimSilence: 'trim_silence',
    strict: 'strict',
    timeline: 'timeline',
    replyLanguage: 'reply_language',
    fullFrameSeries: 'full_frame_series',
    processedAudio: 'processed_audio',
  },
  values: 'text',
  unknownOptions: (names, known) => {
    const quoted = names.map((name) => `"${name.slice(0, 40)}"`).join(', ');
    const takes = `POST /predict_emotion takes the file field "audio" and the options ${known.join(', ')}`;
    return new UsageError('REQUEST_UNKNOWN_OPTION', `Unknown field(s): ${quoted}. ${takes}.`);
  },
  invalidValue: (name, expected, value) =>
    new UsageError(
      'REQUEST_INVALID_OPTION',
      `The field "${name}" must be ${expected}; got "${String(value).slice(0, 40)}".`,
    ),
};

/**
 * Reads the option fields of a request.
 * @throws UsageError `REQUEST_UNKNOWN_OPTION` for a field we do not know, `REQUEST_INVALID_OPTION` for a bad value.
 */
export function parseRequestOptions(fields: Readonly<Record<string, string>>): AnalysisOptions {
  return parseAnalysisOptions(fields, FORM_FIELDS);
}
