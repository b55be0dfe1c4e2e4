/**
 * Label scores over time as a plain series, and the SVG chart and CSV of one: the web page draws its emotion curve
 * (per-frame scores) and its timeline (per segment) with it. A series is just spans of time with a score per label,
 * or no scores where nobody spoke, so any source (frame scores, a timeline, a record's frame series) becomes one with
 * a few lines. No DOM and no Node module: the same text comes out anywhere.
 */
import { printable } from '../errors.js';
import type { FrameScores } from '../model/frame-scores.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { labelNames } from './record.js';

/** A stretch of time and the score of each label over it; `scores` null where there was no speech to score. */
export interface ScoreSpan {
  /** Seconds from the beginning of the audio. */
  readonly start: number;
  readonly end: number;
  /** One score per label of the series, in its order; null: no speech, drawn without an emotion. */
  readonly scores: ArrayLike<number> | null;
}

/** Label scores over time: spans in time order, each with a score per label. */
export interface ScoreSeries {
  /** Labels as tokens.txt writes them ("开心/happy"). */
  readonly labels: readonly string[];
  readonly spans: readonly ScoreSpan[];
}

/**
 * A timeline as a series: each segment a span. Non-speech segments carry no scores here, whatever the model said
 * about them: silence has no emotion.
 */
export function timelineSeries(timeline: readonly TimelineEntry[], labels: readonly string[]): ScoreSeries {
  return {
    labels,
    spans: timeline.map((entry) => ({
      start: entry.start,
      end: entry.end,
      scores: entry.speech && entry.scores.length === labels.length ? entry.scores : null,
    })),
  };
}

/** The library's frame scores (`predict(audio, { frameScores: true })`) as a series: one span per 20 ms frame. */
export function frameScoresSeries(frameScores: FrameScores): ScoreSeries {
  const [frames, width] = frameScores.shape;
  const hop = frameScores.hopSeconds;
  const spans: ScoreSpan[] = new Array(frames);
  for (let t = 0; t < frames; t++) {
    spans[t] = { start: t * hop, end: (t + 1) * hop, scores: frameScores.data.subarray(t * width, (t + 1) * width) };
  }
  return { labels: frameScores.labels, spans };
}

/** `series` with no scores where `timeline` found no speech (a span is silent when its middle is). */
export function withoutSilence(series: ScoreSeries, timeline: readonly TimelineEntry[]): ScoreSeries {
  let k = 0;
  const spans = series.spans.map((span) => {
    const middle = (span.start + span.end) / 2;
    while (k < timeline.length - 1 && timeline[k]!.end <= middle) k++;
    const entry = timeline[k];
    const silent = entry !== undefined && !entry.speech && middle >= entry.start && middle < entry.end;
    return silent ? { ...span, scores: null } : span;
  });
  return { labels: series.labels, spans };
}

/**
 * CSV with a header: `start,end`, then one score column per label (English names); a row per span, seconds with 3
 * decimals, scores with 6, empty score cells where a span has none.
 */
export function scoreSeriesToCsv(series: ScoreSeries): string {
  const header = ['start', 'end', ...series.labels.map((label) => csvField(labelNames(label).en))].join(',');
  const rows = series.spans.map((span) =>
    [
      span.start.toFixed(3),
      span.end.toFixed(3),
      ...series.labels.map((_, i) => (span.scores ? span.scores[i]!.toFixed(6) : '')),
    ].join(','),
  );
  return [header, ...rows].join('\n') + '\n';
}

export interface ScoreChartOptions {
  /** Pixels (default 960 x 360). */
  readonly width?: number;
  readonly height?: number;
  /** Title above the chart. */
  readonly title?: string;
  /**
   * 'steps' (default): each span's score held flat over it, for segments. 'line': a line through the spans'
   * midpoints, averaged down to about one point per pixel, for frames (a long file has thousands).
   */
  readonly shape?: 'steps' | 'line';
}

/** A colour per emotion2vec+ label (English name), chosen to read as the emotion; other labels take the fallback. */
const LABEL_COLOURS: Readonly<Record<string, string>> = {
  angry: '#d62728',
  disgusted: '#6a9a1f',
  fearful: '#8c5fc5',
  happy: '#f0a400',
  neutral: '#7f8c9d',
  other: '#17a2a8',
  sad: '#2f6fd6',
  surprised: '#e05fa8',
  unknown: '#b8b8b8',
};
const FALLBACK_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

/** The colour of a label in charts and score bars: by its English name, else by its position. */
export function labelColour(label: string, index: number): string {
  return LABEL_COLOURS[labelNames(label).en] ?? FALLBACK_COLOURS[index % FALLBACK_COLOURS.length]!;
}

/**
 * An SVG chart of a series: a line per label (a `<path data-label>`, broken where spans have no scores), spans
 * without scores shaded grey ("no speech"), seconds along the bottom, a legend with the English and Chinese names.
 * Standalone SVG 1.1 text: write it to a file or put it in a page's innerHTML.
 */
export function scoreChartSvg(series: ScoreSeries, options: ScoreChartOptions = {}): string {
  const width = options.width ?? 960;
  const height = options.height ?? 360;
  const margin = { left: 48, right: 150, top: options.title ? 32 : 14, bottom: 34 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const first = series.spans[0]?.start ?? 0;
  const duration = Math.max(0, (series.spans.at(-1)?.end ?? 0) - first);
  const x = (seconds: number) => margin.left + (duration > 0 ? ((seconds - first) / duration) * plotWidth : 0);
  const y = (score: number) => margin.top + (1 - Math.min(1, Math.max(0, score))) * plotHeight;
  const n = (v: number) => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  if (options.title)
    parts.push(`<text x="${margin.left}" y="20" font-size="14">${escapeXml(printable(options.title))}</text>`);
  for (const gap of silentStretches(series.spans)) {
    parts.push(
      `<rect class="no-speech" x="${n(x(gap.start))}" y="${margin.top}" width="${n(Math.max(0.5, x(gap.end) - x(gap.start)))}" height="${plotHeight}" fill="#eee"><title>no speech</title></rect>`,
    );
  }
  for (const score of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${n(y(score))}" y2="${n(y(score))}" stroke="#ccc" stroke-width="0.5"/>`,
      `<text x="${margin.left - 6}" y="${n(y(score) + 4)}" text-anchor="end">${score}</text>`,
    );
  }
  for (const seconds of timeTicks(duration)) {
    parts.push(
      `<text x="${n(x(first + seconds))}" y="${height - margin.bottom + 16}" text-anchor="middle">${formatSeconds(first + seconds)}</text>`,
    );
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle">time</text>`);

  const points = options.shape === 'line' ? averagedPoints(series, first, duration, plotWidth) : stepPoints(series);
  series.labels.forEach((label, i) => {
    const colour = labelColour(label, i);
    const names = labelNames(label);
    const name = escapeXml(names.zh ? `${names.zh} ${names.en}` : names.en);
    const path = points
      .map((run) => run.map((p, k) => `${k === 0 ? 'M' : 'L'}${n(x(p.time))},${n(y(p.scores[i]!))}`).join(''))
      .join('');
    if (path) {
      parts.push(
        `<path data-label="${escapeXml(label)}" fill="none" stroke="${colour}" stroke-width="1.5" stroke-linejoin="round" d="${path}"><title>${name}</title></path>`,
      );
    }
    const row = margin.top + 14 * i;
    parts.push(
      `<line x1="${width - margin.right + 12}" x2="${width - margin.right + 30}" y1="${row + 6}" y2="${row + 6}" stroke="${colour}" stroke-width="3"/><text x="${width - margin.right + 36}" y="${row + 10}">${name}</text>`,
    );
  });
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

interface ChartPoint {
  readonly time: number;
  readonly scores: ArrayLike<number>;
}

/** Runs of points, a run per stretch of scored spans: each span's start and end at its scores. */
function stepPoints(series: ScoreSeries): ChartPoint[][] {
  const runs: ChartPoint[][] = [];
  let run: ChartPoint[] = [];
  for (const span of series.spans) {
    if (!span.scores) {
      if (run.length > 0) runs.push(run);
      run = [];
      continue;
    }
    run.push({ time: span.start, scores: span.scores }, { time: span.end, scores: span.scores });
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Runs of points for a line: the spans averaged into buckets of about one pixel, a point at each bucket's middle;
 * a bucket with no scored span breaks the line.
 */
function averagedPoints(series: ScoreSeries, first: number, duration: number, plotWidth: number): ChartPoint[][] {
  const buckets = Math.max(1, Math.min(series.spans.length, Math.round(plotWidth)));
  const width = series.labels.length;
  const sums = Array.from({ length: buckets }, () => new Float64Array(width));
  const counts = new Uint32Array(buckets);
  for (const span of series.spans) {
    if (!span.scores) continue;
    const middle = (span.start + span.end) / 2;
    const b = duration > 0 ? Math.min(buckets - 1, Math.floor(((middle - first) / duration) * buckets)) : 0;
    for (let l = 0; l < width; l++) sums[b]![l]! += span.scores[l]!;
    counts[b]!++;
  }
  const runs: ChartPoint[][] = [];
  let run: ChartPoint[] = [];
  for (let b = 0; b < buckets; b++) {
    if (counts[b] === 0) {
      if (run.length > 0) runs.push(run);
      run = [];
      continue;
    }
    const scores = sums[b]!.map((sum) => sum / counts[b]!);
    run.push({ time: first + ((b + 0.5) / buckets) * duration, scores });
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Consecutive spans without scores, merged: the stretches shaded as no speech. */
function silentStretches(spans: readonly ScoreSpan[]): { start: number; end: number }[] {
  const stretches: { start: number; end: number }[] = [];
  for (const span of spans) {
    if (span.scores) continue;
    const last = stretches.at(-1);
    if (last && Math.abs(last.end - span.start) < 1e-9) last.end = span.end;
    else stretches.push({ start: span.start, end: span.end });
  }
  return stretches;
}

// Chart pieces timeline.ts draws its chart with too.

/** About 8 round tick values across the duration. */
export function timeTicks(duration: number): number[] {
  if (!(duration > 0)) return [0];
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => duration / s <= 8) ?? 7200;
  const ticks: number[] = [];
  for (let t = 0; t <= duration + 1e-9; t += step) ticks.push(t);
  return ticks;
}

/** Seconds as a tick label: `2.5s` under a minute, else `m:ss`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

/** A CSV field, quoted (RFC 4180) where it needs it. */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Text for SVG / XML: the five special characters escaped. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
