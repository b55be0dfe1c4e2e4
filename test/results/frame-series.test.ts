/** The frame series (src/results/frame-series.ts): downsampling by block means, the CSV, the bounded SVG curve. */
import { describe, expect, it } from 'vitest';
import { toFrameScores } from '../../src/model/frame-scores.js';
import {
  frameSeriesFiles,
  frameSeriesReference,
  frameSeriesToCsv,
  frameSeriesToSvg,
  inlineFrameSeries,
  toFrameSeries,
} from '../../src/results/frame-series.js';

const LABELS = ['开心/happy', '难过/sad', '<unk>'];

/** `frames` rows of per-frame probabilities: happy rises, sad falls, unknown stays at 0.1. */
function scores(frames: number, smoothingSeconds = 0) {
  const data = new Float32Array(frames * 3);
  for (let t = 0; t < frames; t++) {
    const happy = (0.9 * t) / Math.max(1, frames - 1);
    data.set([happy, 0.9 - happy, 0.1], t * 3);
  }
  return toFrameScores({ labels: LABELS, data }, frames, smoothingSeconds);
}

describe('toFrameSeries', () => {
  it('keeps every frame by default: time, raw and smoothed rows named by the labels', () => {
    const series = toFrameSeries(scores(5, 0.06));
    expect(series).toMatchObject({ labels: ['happy', 'sad', 'unknown'], hop_seconds: 0.02, smoothing_seconds: 0.06 });
    expect(series).toMatchObject({ frames: 5, step: 1, rows: 5, time: [0, 0.02, 0.04, 0.06, 0.08] });
    expect(series.raw[0]).toEqual([0, 0.9, 0.1]);
    expect(series.raw[4]).toEqual([0.9, 0, 0.1]);
    // 0.06 s is three frames: the middle row averages frames 1-3.
    expect(series.smoothed[2]![0]).toBeCloseTo((0.225 + 0.45 + 0.675) / 3, 6);
    expect(series.smoothed[0]![0]).toBeCloseTo(0.225 / 2, 6);
  });

  it('downsamples a long series to block means that still sum to 1, at most maxRows rows', () => {
    const series = toFrameSeries(scores(1002), 100);
    expect(series).toMatchObject({ frames: 1002, step: 11, rows: 92 });
    expect(series.time[1]).toBe(0.22);
    const block = Array.from({ length: 11 }, (_, t) => (0.9 * t) / 1001);
    expect(series.raw[0]![0]).toBeCloseTo(block.reduce((a, b) => a + b) / 11, 6);
    // The last block holds the one frame left.
    expect(series.raw[91]![0]).toBeCloseTo(0.9, 6);
    for (const row of series.raw) expect(row.reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    expect(inlineFrameSeries(scores(4000), false)).toMatchObject({ step: 2, rows: 2000 });
    expect(inlineFrameSeries(scores(4001), false)).toMatchObject({ step: 3, rows: 1334 });
    expect(inlineFrameSeries(scores(4001), true)).toMatchObject({ step: 1, rows: 4001 });
  });
});

describe('frame series files', () => {
  it('frame_scores.json holds the full series, the CSV a row per frame, the SVG one bounded curve per label', () => {
    const frameScores = scores(5000, 0.5);
    const files = frameSeriesFiles(frameScores, 'talk <1>.wav', true);
    expect(Object.keys(files)).toEqual(['frame_scores.json', 'frame_scores.csv', 'frame_scores.svg']);
    const json = JSON.parse(files['frame_scores.json']!);
    expect(json).toEqual(toFrameSeries(frameScores));
    expect(frameSeriesReference(frameScores)).toEqual({
      labels: ['happy', 'sad', 'unknown'],
      hop_seconds: 0.02,
      smoothing_seconds: 0.5,
      frames: 5000,
      step: 1,
      rows: 5000,
      file: 'frame_scores.json',
      csv: 'frame_scores.csv',
    });
    const csv = files['frame_scores.csv']!.trimEnd().split('\n');
    expect(csv[0]).toBe('time,happy,sad,unknown,smoothed_happy,smoothed_sad,smoothed_unknown');
    expect(csv).toHaveLength(5001);
    expect(csv[1]).toBe(
      `0.000,0.000000,0.900000,0.100000,${json.smoothed[0].map((v: number) => v.toFixed(6)).join(',')}`,
    );
    const svg = files['frame_scores.svg']!;
    const paths = [...svg.matchAll(/<path [^>]*d="M([^"]+)"/g)].map((m) => m[1]!.split('L'));
    expect(paths).toHaveLength(3);
    // A line averaged down to about a point per pixel of the plot (960 - 48 - 150 wide).
    for (const points of paths) expect(points.length).toBeLessThanOrEqual(762);
    expect(svg).toContain('talk &lt;1&gt;.wav');
    expect(Object.keys(frameSeriesFiles(frameScores, 'x', false))).toEqual(['frame_scores.json', 'frame_scores.csv']);
  });

  it('the curve of a short series has a point per row, on the time axis', () => {
    const svg = frameSeriesToSvg(toFrameSeries(scores(10)), { width: 600, height: 300 });
    const happy = [...svg.matchAll(/<path [^>]*d="M([^"]+)"/g)][0]![1]!.split('L');
    expect(happy).toHaveLength(10);
    expect(frameSeriesToCsv(toFrameSeries(scores(1)))).toBe(
      'time,happy,sad,unknown,smoothed_happy,smoothed_sad,smoothed_unknown\n0.000,0.000000,0.900000,0.100000,0.000000,0.900000,0.100000\n',
    );
  });
});
