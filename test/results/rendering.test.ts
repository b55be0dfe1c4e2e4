/**
 * Labels, names and messages that reach CSV and SVG files are hostile: a label from tokens.txt or an annotators' CSV
 * may be a spreadsheet formula or hold a control character. Every text cell of summary.csv and timeline.csv is
 * inert, and every SVG we write is well-formed XML whatever its labels.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { EmotionPrediction } from '../../src/model/emotion2vec.js';
import type { TimelineEntry } from '../../src/model/segment-runner.js';
import { csvText, inertCell } from '../../src/results/csv.js';
import { formatSummaryCsv } from '../../src/results/summary.js';
import { escapeSvgText } from '../../src/results/svg-text.js';
import { timelineToCsv, timelineToSvg } from '../../src/results/timeline.js';
import { toErrorRecord, toResultRecord } from '../../src/results/record.js';
import { confusionSvg } from '../../src/train/confusion-svg.js';
import { evaluatePredictions } from '../../src/train/metrics.js';
import { AudioInputError } from '../../src/errors.js';
import { labelKeys } from '../../src/model/label-names.js';
import { expectWellFormedXml } from '../support/xml.js';

const FORMULAS = ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd'];
/** Labels as a hostile tokens.txt could hold them: formulas on both sides of the "zh/en" split, controls. */
const LABELS = ['=1+1/=HYPERLINK("http://evil")', '@SUM(A1)/+cmd', 'esc\u001b[31m/nul\u0000bel\u0007'];
/** The names results give these labels (the record's keys). */
const NAMES = labelKeys(LABELS);

/** Every text cell a spreadsheet would evaluate: starts like a formula and is not a plain number. */
function formulaCells(csv: string): string[] {
  const rows = parse(csv, { relax_column_count: true }) as string[][];
  return rows.flat().filter((cell) => /^[=+\-@\t\r]/.test(cell) && !/^[+-]?\d+(\.\d+)?$/.test(cell));
}

describe('the CSV writer', () => {
  it.each(FORMULAS)('makes %j inert', (text) => {
    expect(inertCell(text)).toBe(`'${text}`);
  });

  it('leaves plain numbers and ordinary text alone, and quotes what RFC 4180 says', () => {
    expect(['-0.5', '+3', '1e-3', '-2', 'happy', ' =x'].map(inertCell)).toEqual([
      '-0.5',
      '+3',
      '1e-3',
      '-2',
      'happy',
      ' =x',
    ]);
    expect(csvText([['a,b', 'c"d', 'e\nf', 1.5, null, undefined]])).toBe('"a,b","c""d","e\nf",1.5,,\n');
  });
});

describe('summary.csv', () => {
  it('neutralises formulas in every text column, the emotion columns and the score headers included', () => {
    const prediction: EmotionPrediction = {
      labels: LABELS,
      scores: [0.6, 0.3, 0.1],
      top: { label: LABELS[0]!, name: NAMES[0]!, score: 0.6, index: 0 },
      frames: 49,
      durationSeconds: 1,
      quality: {
        durationSeconds: 1,
        sampleRate: 16_000,
        rms: 0.1,
        rmsDbfs: -20,
        peak: 0.5,
        clippedFraction: 0,
        leadingSilenceSeconds: 0,
        trailingSilenceSeconds: 0,
        silenceFraction: 0,
        snrDb: 30,
        noiseFloorDbfs: -60,
        warnings: [],
      },
    } as EmotionPrediction;
    const ok = toResultRecord(prediction, { input: '-x.wav', key: '+k', model: 'm', granularity: 'utterance' });
    const failed = toErrorRecord(new AudioInputError('AUDIO_DECODE', '=cmd|" /C calc"!A0'), { input: '@b', key: 'b' });
    const csv = formatSummaryCsv([{ record: ok, folder: '=f' }, { record: failed }]);
    expect(formulaCells(csv)).toEqual([]);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    // The values are all there, as text.
    expect(rows[0]).toMatchObject({ folder: "'=f", key: "'+k", input: "'-x.wav" });
    expect(`${rows[0]!.emotion} ${rows[0]!.emotion_zh}`).toMatch(/'=/);
    expect(rows[1]!.error_message).toMatch(/^'=cmd/);
  });
});

describe('timeline.csv', () => {
  it('neutralises formulas in the header and in the emotion cells', () => {
    const timeline: TimelineEntry[] = [
      {
        start: 0,
        end: 1,
        speech: true,
        top: { label: LABELS[0]!, name: NAMES[0]!, score: 0.6, index: 0 },
        scores: [0.6, 0.3, 0.1],
        frames: 50,
      },
      {
        start: 1,
        end: 2,
        speech: true,
        top: { label: LABELS[1]!, name: NAMES[1]!, score: 0.5, index: 1 },
        scores: [0.2, 0.5, 0.3],
        frames: 50,
      },
    ];
    const csv = timelineToCsv(timeline, LABELS);
    expect(formulaCells(csv)).toEqual([]);
    const [header, first] = parse(csv, { relax_column_count: true }) as string[][];
    expect(header!.slice(5).some((cell) => cell.startsWith("'"))).toBe(true);
    expect(first![3]!.startsWith("'")).toBe(true);
    expect(first!.slice(0, 3)).toEqual(['0.000', '1.000', 'true']);
  });
});

describe('SVG text', () => {
  it('escapes markup and replaces what XML forbids', () => {
    expect(escapeSvgText('a<b>&"\'')).toBe('a&lt;b&gt;&amp;&quot;&apos;');
    expect(escapeSvgText('nul\u0000esc\u001b\uFFFF\uD800 ok\ttab')).toBe('nul\uFFFDesc\uFFFD\uFFFD\uFFFD ok\ttab');
    expect(escapeSvgText('happy 😀 開心')).toBe('happy 😀 開心');
  });

  it('timeline.svg and confusion.svg are well-formed whatever the labels hold', () => {
    const timeline: TimelineEntry[] = [
      {
        start: 0,
        end: 1,
        speech: true,
        top: { label: LABELS[2]!, name: NAMES[2]!, score: 0.6, index: 2 },
        scores: [0.1, 0.3, 0.6],
        frames: 50,
      },
    ];
    expectWellFormedXml(timelineToSvg(timeline, LABELS, { title: 'in\u0001put <1>.wav' }));
    const evaluation = evaluatePredictions([0, 1, 2, 2], [0, 2, 2, 1], LABELS);
    const svg = confusionSvg(evaluation);
    expectWellFormedXml(svg);
    expect(svg).toContain('nul\uFFFDbel\uFFFD');
  });

  it('the well-formedness check itself catches what these writers could break', () => {
    expect(() => expectWellFormedXml('<svg><text>a\u0001</text></svg>')).toThrow();
    expect(() => expectWellFormedXml('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => expectWellFormedXml('<svg><text>a < b</text></svg>')).toThrow();
    expect(() => expectWellFormedXml('<svg><text>a</svg>')).toThrow();
    expectWellFormedXml('<svg x="1"><text y="2">a &amp; b</text><rect/></svg>');
  });
});
