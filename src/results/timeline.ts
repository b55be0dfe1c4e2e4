/**
 * Timeline outputs shared by the CLI (timeline.json / .csv, --plot's timeline.svg), the queue workers and the web
 * page: plain functions from a timeline to text, no DOM and no Node module, so they run anywhere. The chart is the
 * one chart of scores over time (score-chart.ts), in steps.
 */
import { printable } from '../errors.js';
import { labelKeys } from '../model/label-names.js';
import type { TimelineEntry } from '../model/segment-runner.js';
import { csvText } from './csv.js';
import { scoreChartSvg, timelineSeries } from './score-chart.js';

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
 * Written by the one CSV writer (csv.ts): quoted where a field needs it, and no label can become a spreadsheet
 * formula.
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
  return csvText([header, ...rows]);
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
 * labels. Standalone SVG 1.1 text: write it to a .svg file or put it in a page's innerHTML.
 */
export function timelineToSvg(
  timeline: readonly TimelineEntry[],
  labels: readonly string[],
  options: TimelineSvgOptions = {},
): string {
  return scoreChartSvg(timelineSeries(timeline, labels), { ...options, shape: 'steps' });
}
