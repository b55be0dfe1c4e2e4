/**
 * Score series and their chart and CSV (the page's emotion curve and timeline): silence has no emotion, frames
 * become spans, a long series is averaged down to the chart's width, and every label gets its line.
 */
import { describe, expect, it } from 'vitest';
import type { FrameScores } from '../../src/model/frame-scores.js';
import type { TimelineEntry } from '../../src/model/segment-runner.js';
import {
  frameScoresSeries,
  scoreChartSvg,
  scoreSeriesToCsv,
  timelineSeries,
  withoutSilence,
  type ScoreSeries,
} from '../../src/results/score-chart.js';

const labels = ['生气/angry', '开心/happy', '<unk>'];
const timeline: TimelineEntry[] = [
  {
    start: 0,
    end: 1,
    speech: true,
    top: { label: '开心/happy', score: 0.7, index: 1 },
    scores: [0.1, 0.7, 0.2],
    frames: 50,
  },
  // The model scores silence too; the series must not show it as an emotion.
  {
    start: 1,
    end: 2,
    speech: false,
    top: { label: '生气/angry', score: 0.8, index: 0 },
    scores: [0.8, 0.1, 0.1],
    frames: 50,
  },
  {
    start: 2,
    end: 3,
    speech: true,
    top: { label: '生气/angry', score: 0.6, index: 0 },
    scores: [0.6, 0.3, 0.1],
    frames: 50,
  },
  { start: 3, end: 4, speech: false, top: null, scores: [], frames: 0 },
];

/** The `d` of each label's path, by label. */
function paths(svg: string): Map<string, string> {
  return new Map([...svg.matchAll(/<path data-label="([^"]+)"[^>]* d="([^"]+)"/g)].map((m) => [m[1]!, m[2]!]));
}

describe('timelineSeries', () => {
  it('keeps the speech segments scores and gives non-speech none', () => {
    const series = timelineSeries(timeline, labels);
    expect(series.labels).toEqual(labels);
    expect(series.spans.map((span) => [span.start, span.end, span.scores && Array.from(span.scores)])).toEqual([
      [0, 1, [0.1, 0.7, 0.2]],
      [1, 2, null],
      [2, 3, [0.6, 0.3, 0.1]],
      [3, 4, null],
    ]);
  });
});

describe('frameScoresSeries and withoutSilence', () => {
  const frameScores: FrameScores = {
    labels,
    data: Float32Array.from([0.2, 0.5, 0.3, 0.1, 0.8, 0.1, 0.6, 0.3, 0.1]),
    shape: [3, 3],
    hopSeconds: 0.02,
    smoothingSeconds: 0.5,
  };

  it('makes a 20 ms span per frame with its row of scores', () => {
    const series = frameScoresSeries(frameScores);
    expect(series.spans.map((span) => [span.start, span.end, Array.from(span.scores!)])).toEqual([
      [0, 0.02, [0.2, 0.5, 0.3].map(Math.fround)],
      [0.02, 0.04, [0.1, 0.8, 0.1].map(Math.fround)],
      [0.04, 0.06, [0.6, 0.3, 0.1].map(Math.fround)],
    ]);
  });

  it('drops the scores of frames whose middle lies in a non-speech segment', () => {
    const series: ScoreSeries = {
      labels,
      spans: Array.from({ length: 8 }, (_, t) => ({ start: t * 0.5, end: (t + 1) * 0.5, scores: [0.2, 0.5, 0.3] })),
    };
    const masked = withoutSilence(series, timeline);
    expect(masked.spans.map((span) => span.scores !== null)).toEqual([
      true,
      true,
      false,
      false,
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('scoreSeriesToCsv', () => {
  it('writes start, end and a column per label (English names), empty cells where there is no speech', () => {
    const lines = scoreSeriesToCsv(timelineSeries(timeline, labels)).trimEnd().split('\n');
    expect(lines).toEqual([
      'start,end,angry,happy,unknown',
      '0.000,1.000,0.100000,0.700000,0.200000',
      '1.000,2.000,,,',
      '2.000,3.000,0.600000,0.300000,0.100000',
      '3.000,4.000,,,',
    ]);
  });
});

describe('scoreChartSvg', () => {
  it('steps: a path per label, broken at non-speech, which is shaded and has no line', () => {
    const svg = scoreChartSvg(timelineSeries(timeline, labels), { width: 600, height: 300, title: 'talk <1>.wav' });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"')).toBe(true);
    const lines = paths(svg);
    expect([...lines.keys()]).toEqual(['生气/angry', '开心/happy', '&lt;unk&gt;']);
    // Two runs of speech: two pieces per line, each a flat step (start and end of its segment).
    for (const d of lines.values()) expect(d.match(/M/g)).toHaveLength(2);
    const happy = lines
      .get('开心/happy')!
      .split(/[ML]/)
      .filter(Boolean)
      .map((p) => p.split(',').map(Number));
    const x = (seconds: number) => 48 + (seconds / 4) * (600 - 48 - 150);
    const y = (score: number) => 32 + (1 - score) * (300 - 32 - 34);
    expect(happy).toHaveLength(4);
    expect(happy[0]![0]).toBeCloseTo(x(0), 0);
    expect(happy[1]![0]).toBeCloseTo(x(1), 0);
    expect(happy[1]![1]).toBeCloseTo(y(0.7), 0);
    expect(happy[2]![0]).toBeCloseTo(x(2), 0); // the line jumps the silence from 1 s to 2 s
    expect(happy[2]![1]).toBeCloseTo(y(0.3), 0);
    expect(svg.match(/<title>no speech<\/title>/g)).toHaveLength(2);
    expect(svg).toContain('talk &lt;1&gt;.wav');
    expect(svg).toContain('>开心 happy</text>');
  });

  it('line: a long frame series is averaged down to about a point per pixel of the plot', () => {
    const frames = 5000;
    const data = new Float32Array(frames * 3);
    for (let t = 0; t < frames; t++) data.set(t < frames / 2 ? [0.1, 0.8, 0.1] : [0.7, 0.2, 0.1], t * 3);
    const series = frameScoresSeries({ labels, data, shape: [frames, 3], hopSeconds: 0.02, smoothingSeconds: 0 });
    const svg = scoreChartSvg(series, { width: 600, height: 300, shape: 'line' });
    const happy = paths(svg).get('开心/happy')!;
    const points = happy.split(/[ML]/).filter(Boolean);
    expect(points).toHaveLength(600 - 48 - 150);
    const y = (score: number) => 14 + (1 - score) * (300 - 14 - 34);
    expect(Number(points[0]!.split(',')[1])).toBeCloseTo(y(0.8), 0);
    expect(Number(points.at(-1)!.split(',')[1])).toBeCloseTo(y(0.2), 0);
  });

  it('an empty series is still a valid chart', () => {
    const svg = scoreChartSvg({ labels, spans: [] });
    expect(svg).toContain('</svg>');
    expect(paths(svg).size).toBe(0);
  });
});
