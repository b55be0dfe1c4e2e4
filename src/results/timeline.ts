/**
 * Timeline outputs shared by the CLI (timeline.csv, --plot's timeline.svg) and the web page (the same SVG drawn
 * in the page): plain functions from a timeline to text, no DOM and no Node module, so they run anywhere.
 */
import { printable } from '../errors.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { labelNames } from './record.js';
import { csvField, escapeXml, formatSeconds, timeTicks } from './score-chart.js';

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
 * The timeline files of one result folder, as `analyze --timeline/--plot` and the queue workers write them:
 * timeline.json (labels + segments), timeline.csv and, with `plot`, timeline.svg titled with the input's name.
 */
export function timelineFiles(
  timeline: readonly TimelineEntry[],
  labels: readonly string[],
  input: string,
  plot: boolean,
): Record<string, string> {
  return {
    'timeline.json': `${JSON.stringify({ labels, segments: timeline }, null, 2)}\n`,
    'timeline.csv': timelineToCsv(timeline, labels),
    ...(plot ? { 'timeline.svg': timelineToSvg(timeline, labels, { title: printable(input) }) } : {}),
  };
}

/**
 * CSV with a header: `start,end,speech,emotion,confidence`, then one score column per label (English names).
 * Seconds with 3 decimals, scores with 6. RFC 4180 quoting where a field needs it.
 */
export function timelineToCsv(timeline: readonly TimelineEntry[], labels: readonly string[]): string {
  const header = ['start', 'end', 'speech', 'emotion', 'confidence', ...labels.map((label) => labelNames(label).en)];
  const rows = timeline.map((entry) => [
    entry.start.toFixed(3),
    entry.end.toFixed(3),
    entry.speech ? 'true' : 'false',
    entry.top ? labelNames(entry.top.label).en : '',
    entry.top ? entry.top.score.toFixed(6) : '',
    ...labels.map((_, i) => (entry.scores[i] === undefined ? '' : entry.scores[i]!.toFixed(6))),
  ]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
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
 * non-speech segments shaded grey, seconds along the bottom, a legend of the labels present. Standalone SVG 1.1
 * text: write it to a .svg file or put it in a page's innerHTML.
 */
export function timelineToSvg(
  timeline: readonly TimelineEntry[],
  labels: readonly string[],
  options: TimelineSvgOptions = {},
): string {
  const width = options.width ?? 960;
  const height = options.height ?? 360;
  const margin = { left: 48, right: 150, top: options.title ? 32 : 14, bottom: 34 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const duration = timeline.length > 0 ? timeline[timeline.length - 1]!.end : 0;
  const x = (seconds: number) => margin.left + (duration > 0 ? (seconds / duration) * plotWidth : 0);
  const y = (score: number) => margin.top + (1 - score) * plotHeight;
  const n = (v: number) => v.toFixed(1);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  if (options.title) parts.push(`<text x="${margin.left}" y="20" font-size="14">${escapeXml(options.title)}</text>`);
  for (const entry of timeline) {
    if (!entry.speech)
      parts.push(
        `<rect x="${n(x(entry.start))}" y="${margin.top}" width="${n(x(entry.end) - x(entry.start))}" height="${plotHeight}" fill="#eee"><title>no speech</title></rect>`,
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
  labels.forEach((label, i) => {
    const points: string[] = [];
    for (const entry of timeline) {
      const score = entry.scores[i];
      if (score === undefined) continue;
      points.push(`${n(x(entry.start))},${n(y(score))}`, `${n(x(entry.end))},${n(y(score))}`);
    }
    if (points.length === 0) return;
    const colour = PALETTE[i % PALETTE.length]!;
    const name = escapeXml(labelNames(label).en);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points.join(' ')}"><title>${name}</title></polyline>`,
    );
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
