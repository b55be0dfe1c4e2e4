/**
 * The one parser of the analysis options, through both surfaces' spellings: the REST form fields (snake_case
 * text, REQUEST_* codes) and the job JSON (camelCase values, JOB_INVALID), and what the options ask of the model.
 */
import { describe, expect, it } from 'vitest';
import type { Emotion2VecError } from '../../src/errors.js';
import {
  DEFAULT_ANALYSIS_OPTIONS,
  parseAnalysisOptions,
  toPredictOptions,
} from '../../src/results/analysis-options.js';
import { JOB_FIELDS } from '../../src/queue/job.js';
import { FORM_FIELDS } from '../../src/server/options.js';

function failure(fn: () => unknown): Emotion2VecError {
  try {
    fn();
  } catch (error) {
    return error as Emotion2VecError;
  }
  throw new Error('expected an error');
}

describe('analysis options', () => {
  it("missing options take analyze's defaults, whatever the spelling", () => {
    expect(parseAnalysisOptions({}, FORM_FIELDS)).toEqual(DEFAULT_ANALYSIS_OPTIONS);
    expect(parseAnalysisOptions({}, JOB_FIELDS)).toEqual(DEFAULT_ANALYSIS_OPTIONS);
    expect(DEFAULT_ANALYSIS_OPTIONS).toEqual({
      granularity: 'utterance',
      embedding: false,
      trimSilence: false,
      strict: false,
      processedAudio: 'pcm16',
      timeline: false,
      plot: false,
      replyLanguage: 'zh',
      fullFrameSeries: false,
    });
  });

  it('the same options in each spelling give the same analysis', () => {
    const form = parseAnalysisOptions(
      {
        granularity: 'frame',
        embedding: 'yes',
        trim_silence: ' TRUE ',
        strict: '0',
        timeline: 'on',
        reply_language: 'en',
        processed_audio: 'float32',
      },
      FORM_FIELDS,
    );
    const job = parseAnalysisOptions(
      {
        granularity: 'frame',
        embedding: true,
        trimSilence: true,
        strict: false,
        timeline: true,
        replyLanguage: 'en',
        processedAudio: 'float32',
      },
      JOB_FIELDS,
    );
    expect(form).toEqual(job);
    expect(job).toMatchObject({
      granularity: 'frame',
      embedding: true,
      trimSilence: true,
      strict: false,
      timeline: true,
      replyLanguage: 'en',
      processedAudio: 'float32',
    });
  });

  it('a job queued by version 0.1 (processedAudio true or false) keeps its meaning: float32 or none', () => {
    expect(parseAnalysisOptions({ processedAudio: true }, JOB_FIELDS).processedAudio).toBe('float32');
    expect(parseAnalysisOptions({ processedAudio: false }, JOB_FIELDS).processedAudio).toBe('none');
    // A form field is text: only the format names are taken there.
    expect(failure(() => parseAnalysisOptions({ processed_audio: 'true' }, FORM_FIELDS)).message).toBe(
      'The field "processed_audio" must be "pcm16" or "float32" or "none"; got "true".',
    );
    expect(failure(() => parseAnalysisOptions({ replyLanguage: 'fr' }, JOB_FIELDS)).code).toBe('JOB_INVALID');
  });

  it('each surface reports an unknown name or a bad value with its own code, naming the option as it spells it', () => {
    const unknownField = failure(() => parseAnalysisOptions({ trimSilence: 'true' }, FORM_FIELDS));
    expect(unknownField.code).toBe('REQUEST_UNKNOWN_OPTION');
    expect(unknownField.message).toContain('"trimSilence"');
    expect(unknownField.message).toContain('trim_silence');
    const badField = failure(() => parseAnalysisOptions({ trim_silence: 'maybe' }, FORM_FIELDS));
    expect([badField.code, badField.message]).toEqual([
      'REQUEST_INVALID_OPTION',
      'The field "trim_silence" must be true or false; got "maybe".',
    ]);
    expect(failure(() => parseAnalysisOptions({ granularity: 'word' }, FORM_FIELDS)).code).toBe(
      'REQUEST_INVALID_OPTION',
    );
    // A form cannot ask for options it does not spell (charts are drawn by the page, not the server).
    expect(failure(() => parseAnalysisOptions({ plot: 'true' }, FORM_FIELDS)).code).toBe('REQUEST_UNKNOWN_OPTION');

    expect(failure(() => parseAnalysisOptions({ trim_silence: true }, JOB_FIELDS)).code).toBe('JOB_INVALID');
    // JSON values are typed: the text spellings of a yes are not taken there.
    const badJob = failure(() => parseAnalysisOptions({ embedding: 'yes' }, JOB_FIELDS));
    expect(badJob.code).toBe('JOB_INVALID');
    expect(badJob.message).toContain('"embedding" must be true or false');
  });

  it('asks the model for the timeline when a plot is wanted, for the waveform only when a folder gets processed_audio.wav, and for frame scores with frame granularity', () => {
    const options = { ...DEFAULT_ANALYSIS_OPTIONS, plot: true };
    expect(toPredictOptions(options, 'folder')).toEqual({
      granularity: 'utterance',
      embedding: false,
      trimSilence: false,
      strict: false,
      timeline: true,
      waveform: true,
    });
    expect(toPredictOptions(options, 'inline').waveform).toBe(false);
    expect(toPredictOptions({ ...options, processedAudio: 'none' }, 'folder').waveform).toBe(false);
    expect(toPredictOptions({ ...options, processedAudio: 'float32' }, 'folder').waveform).toBe(true);
    expect(toPredictOptions({ ...options, granularity: 'frame' }, 'inline')).toMatchObject({
      granularity: 'frame',
      frameScores: true,
    });
  });
});
