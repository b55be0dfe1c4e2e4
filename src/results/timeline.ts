/**
 * Timeline outputs shared by the CLI (timeline.csv, --plot's timeline.svg) and the web page (the same SVG drawn
 * in the page), and the one chart of scores over time they and the frame scores' emotion curve draw: plain
 * functions from results to text, no DOM and no Node module, so they run anywhere.
 */
import { printable } from '../errors.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { labelKeys } from '../model/label-names.js';

/** One colour per label, in label order (colour-blind-friendly Tableau 10). */
const PALETTE = [
  '#e15759',
  '#76b7b2',
  '#b07aa1',
  '#edc948',
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#9c755f',
  '#bab0ac',
  '#ff9da7',
];

/**
 * The timeline as results show it: a non-speech segment has no emotion (its `top` is null and its `scores` empty),
 * since what the model says about silence or noise is not a feeling. `prediction.timeline` keeps the model's
 * numbers for those segments; timeline.json, timeline.csv, timeline.svg, the record and the page show this.
 */
export function speechTimeline(timeline: readonly TimelineEntry[]): TimelineEntry[] {
  return timeline.map((entry) => (entry.speech ? entry : { ...entry, top: null, scores: [] }));
}

/**
 * The timeline files of one result folder, as `analyze --timeline/--plot` and the queue workers write them:
 * timeline.json (labels + segments), timeline.csv and, with `plot`, timeline.svg titled with the input's name.
 */
export function timelineFiles(
  timeline: readonly TimelineEntry[],
  labels: readonly string[],
  input: string,
  plot: boolean,
): Record<string, string> {
  const segments = speechTimeline(timeline);
  return {
    'timeline.json': `${JSON.stringify({ labels, segments }, null, 2)}\n`,
    'timeline.csv': timelineToCsv(segments, labels),
    ...(plot ? { 'timeline.svg': timelineToSvg(segments, labels, { title: printable(input) }) } : {}),
  };
}

/**
 * CSV with a header: `start,end,speech,emotion,confidence`, then one score column per label (the names results
 * use, label-names.ts). Seconds with 3 decimals, scores with 6. Non-speech rows have no emotion and no scores.
 * RFC 4180 quoting where a field needs it.
 */
export function timelineToCsv(timeline: readonly TimelineEntry[], labels: readonly string[]): string {
  const header = ['start', 'end', 'speech', 'emotion', 'confidence', ...labelKeys(labels)];
  const rows = speechTimeline(timeline).map((entry) => [
    entry.start.toFixed(3),
    entry.end.toFixed(3),
    entry.speech ? 'true' : 'false',
    entry.top ? entry.top.name : '',
    entry.top ? entry.top.score.toFixed(6) : '',
    ...labels.map((_, i) => (entry.scores[i] === undefined ? '' : entry.scores[i]!.toFixed(6))),
  ]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}

/** One CSV field, quoted when it needs to be (RFC 4180). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export interface TimelineSvgOptions {
  /** Pixels (default 960 x 360). */
  readonly width?: number;
  readonly height?: number;
  /** Title above the chart (for example the file name). */
  readonly title?: string;
}

/**
 * An SVG chart of the scores over time: one step line per label (each segment's score held over the segment),
 * broken where there is no speech, non-speech segments shaded grey, seconds along the bottom, a legend of the
 * labels present. Standalone SVG 1.1 text: write it to a .svg file or put it in a page's innerHTML.
 */
export function timelineToSvg(
  timeline: readonly TimelineEntry[],
  labels: readonly string[],
  options: TimelineSvgOptions = {},
): string {
  const segments = speechTimeline(timeline);
  const lines = labels.map((label, i) => {
    const runs: [number, number][][] = [];
    let run: [number, number][] | null = null;
    for (const entry of segments) {
      const score = entry.scores[i];
      if (score === undefined) {
        run = null;
        continue;
      }
      if (!run) runs.push((run = []));
      run.push([entry.start, score], [entry.end, score]);
    }
    return { label, runs };
  });
  return scoreChartSvg(
    {
      duration: segments.length > 0 ? segments[segments.length - 1]!.end : 0,
      lines,
      shaded: segments.filter((entry) => !entry.speech),
    },
    options,
  );
}

/** What a chart of scores over time draws. */
export interface ScoreChart {
  /** Seconds the time axis spans. */
  readonly duration: number;
  /** One line per label, in label order (its colour): runs of (seconds, score) points, drawn apart. */
  readonly lines: readonly { readonly label: string; readonly runs: readonly (readonly [number, number])[][] }[];
  /** Spans shaded grey ("no speech"). */
  readonly shaded: readonly { readonly start: number; readonly end: number }[];
}

/**
 * The one chart of scores over time (the timeline's steps, the emotion curve of frame scores): a line per label,
 * scores 0 to 1 up the side, seconds along the bottom, a legend of the labels drawn.
 */
export function scoreChartSvg(chart: ScoreChart, options: TimelineSvgOptions = {}): string {
  const width = options.width ?? 960;
  const height = options.height ?? 360;
  const margin = { left: 48, right: 150, top: options.title ? 32 : 14, bottom: 34 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const { duration } = chart;
  const x = (seconds: number) => margin.left + (duration > 0 ? (seconds / duration) * plotWidth : 0);
  const y = (score: number) => margin.top + (1 - score) * plotHeight;
  const n = (v: number) => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  if (options.title) parts.push(`<text x="${margin.left}" y="20" font-size="14">${escapeXml(options.title)}</text>`);
  for (const span of chart.shaded) {
    parts.push(
      `<rect x="${n(x(span.start))}" y="${margin.top}" width="${n(x(span.end) - x(span.start))}" height="${plotHeight}" fill="#eee"><title>no speech</title></rect>`,
    );
  }
  for (const score of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotWidth}" y1="${n(y(score))}" y2="${n(y(score))}" stroke="#ccc" stroke-width="0.5"/>`,
    );
    parts.push(`<text x="${margin.left - 6}" y="${n(y(score) + 4)}" text-anchor="end">${score}</text>`);
  }
  for (const seconds of timeTicks(duration)) {
    parts.push(
      `<text x="${n(x(seconds))}" y="${height - margin.bottom + 16}" text-anchor="middle">${formatSeconds(seconds)}</text>`,
    );
  }
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 4}" text-anchor="middle">time</text>`);

  const legend: string[] = [];
  const names = labelKeys(chart.lines.map((line) => line.label));
  chart.lines.forEach(({ runs }, i) => {
    const drawn = runs.filter((run) => run.length > 0);
    if (drawn.length === 0) return;
    const colour = PALETTE[i % PALETTE.length]!;
    const name = escapeXml(names[i]!);
    const d = drawn.map((run) => `M${run.map(([t, score]) => `${n(x(t))},${n(y(score))}`).join(' L')}`).join(' ');
    parts.push(`<path fill="none" stroke="${colour}" stroke-width="1.5" d="${d}"><title>${name}</title></path>`);
    const row = margin.top + 14 * legend.length;
    legend.push(
      `<line x1="${width - margin.right + 12}" x2="${width - margin.right + 30}" y1="${row + 6}" y2="${row + 6}" stroke="${colour}" stroke-width="3"/><text x="${width - margin.right + 36}" y="${row + 10}">${name}</text>`,
    );
  });
  parts.push(...legend);
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** About 8 round tick values across the duration. */
function timeTicks(duration: number): number[] {
  if (!(duration > 0)) return [0];
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => duration / s <= 8) ?? 7200;
  const ticks: number[] = [];
  for (let t = 0; t <= duration + 1e-9; t += step) ticks.push(t);
  return ticks;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Number(seconds.toFixed(1))}s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return `${m}:${String(s).padStart(2, '0')}`;
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}
