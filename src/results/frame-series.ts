/**
 * The frame series: what frame granularity gives besides the (T, D) embedding, as the WebUI's frame mode does: the
 * scores of every label for every 20 ms frame, over time (its "emotion curve"). Two rows per frame: `raw`, each
 * frame's own softmax (what the head says about that frame alone), and `smoothed`, their centred moving average
 * over 0.5 s (single frames are noisy; the curve to read). Plain functions, no DOM and no Node module: the page
 * draws the same curve.
 *
 * Bounded in size: a result folder holds the full series in `frame_scores.json` and `frame_scores.csv` (an hour of
 * audio is 180 000 rows, about 30 MB each), and result.json only says where they are. An answer without a folder
 * (the REST API, `analyze --no-output --json`, the page) carries at most {@link MAX_INLINE_FRAME_ROWS} rows: a
 * longer series is downsampled, each row the mean of `step` consecutive frames (still a distribution over the
 * labels), unless the full series is asked for (`full_frame_series`).
 */
import type { FrameScores } from '../model/frame-scores.js';
import { labelKeys } from '../model/label-names.js';
import { csvText } from './csv.js';
import { scoreChartSvg, type ScoreSeries } from './score-chart.js';
import type { TimelineSvgOptions } from './timeline.js';

/** Most rows an inline series holds (40 s of frames at full resolution, about 0.3 MB of JSON). */
export const MAX_INLINE_FRAME_ROWS = 2000;

export const FRAME_SCORES_JSON = 'frame_scores.json';
export const FRAME_SCORES_CSV = 'frame_scores.csv';
export const FRAME_SCORES_SVG = 'frame_scores.svg';

/** What every form of the series says about itself. */
export interface FrameSeriesInfo {
  /** The score names each row's columns follow (the keys of the record's `scores`, in label order). */
  readonly labels: string[];
  /** Seconds between frames (0.02): frame t starts at t · hop_seconds and lasts 0.025 s. */
  readonly hop_seconds: number;
  /** Width of the moving average behind `smoothed` (0.5 s). */
  readonly smoothing_seconds: number;
  /** Frames of the audio (T). */
  readonly frames: number;
  /** Frames per row: 1 when every frame has its row; more when downsampled (each row the mean of `step` frames). */
  readonly step: number;
  /** Rows: ceil(frames / step). */
  readonly rows: number;
}

/** The series with its numbers (an inline answer, frame_scores.json). */
export interface FrameSeries extends FrameSeriesInfo {
  /** Start of each row, in seconds (row i starts at frame i · step). */
  readonly time: number[];
  /** Each row's scores (`rows` x `labels`), each frame's own softmax; 6 decimals. */
  readonly raw: number[][];
  /** The same after the moving average; 6 decimals. */
  readonly smoothed: number[][];
}

/** Where a result folder keeps the series: result.json's `frame_scores`. */
export interface FrameSeriesFiles extends FrameSeriesInfo {
  /** The full series as JSON (a {@link FrameSeries} with step 1), beside result.json. */
  readonly file: string;
  /** The same as CSV. */
  readonly csv: string;
}

/**
 * The series of a prediction's frame scores, downsampled to at most `maxRows` rows (default: every frame).
 */
export function toFrameSeries(scores: FrameScores, maxRows = Number.POSITIVE_INFINITY): FrameSeries {
  const [frames, width] = scores.shape;
  const step = frames > maxRows ? Math.ceil(frames / maxRows) : 1;
  const rows = Math.ceil(frames / step);
  const time: number[] = [];
  const raw: number[][] = [];
  const smoothed: number[][] = [];
  for (let row = 0; row < rows; row++) {
    const from = row * step;
    const to = Math.min(frames, from + step);
    time.push(round(from * scores.hopSeconds, 3));
    raw.push(blockMean(scores.raw, width, from, to));
    smoothed.push(blockMean(scores.data, width, from, to));
  }
  return { ...seriesInfo(scores, step, rows), time, raw, smoothed };
}

/** The series as an answer without a folder carries it: at most {@link MAX_INLINE_FRAME_ROWS} rows unless `full`. */
export function inlineFrameSeries(scores: FrameScores, full: boolean): FrameSeries {
  return toFrameSeries(scores, full ? Number.POSITIVE_INFINITY : MAX_INLINE_FRAME_ROWS);
}

/** result.json's `frame_scores` when the folder holds the files of {@link frameSeriesFiles}. */
export function frameSeriesReference(scores: FrameScores): FrameSeriesFiles {
  return { ...seriesInfo(scores, 1, scores.shape[0]), file: FRAME_SCORES_JSON, csv: FRAME_SCORES_CSV };
}

/**
 * The frame series files of one result folder: frame_scores.json (the full series), frame_scores.csv and, with
 * `plot`, frame_scores.svg (the emotion curve, titled with the input's name).
 */
export function frameSeriesFiles(scores: FrameScores, title: string, plot: boolean): Record<string, string> {
  const series = toFrameSeries(scores);
  return {
    [FRAME_SCORES_JSON]: `${JSON.stringify(series)}\n`,
    [FRAME_SCORES_CSV]: frameSeriesToCsv(series),
    ...(plot ? { [FRAME_SCORES_SVG]: frameSeriesToSvg(series, { title }) } : {}),
  };
}

/**
 * CSV with a header: `time`, one column per label (raw scores), then one `smoothed_<label>` column per label;
 * a row per row of the series. Seconds with 3 decimals, scores with 6.
 */
export function frameSeriesToCsv(series: FrameSeries): string {
  const header = ['time', ...series.labels, ...series.labels.map((name) => `smoothed_${name}`)];
  const rows = series.time.map((time, row) => [
    time.toFixed(3),
    ...[...series.raw[row]!, ...series.smoothed[row]!].map((v) => v.toFixed(6)),
  ]);
  return csvText([header, ...rows]);
}

/**
 * The smoothed rows of a series as spans of time with their scores, for the one chart of scores over time
 * (score-chart.ts). `labels`: the labels as tokens.txt writes them (the record's `labels[i].label`), for the
 * chart's names and colours; the series' own names by default.
 */
export function frameSeriesSpans(series: FrameSeries, labels: readonly string[] = series.labels): ScoreSeries {
  const span = series.step * series.hop_seconds;
  const end = series.frames * series.hop_seconds;
  return {
    labels,
    spans: series.time.map((time, row) => ({
      start: time,
      end: Math.min(end, time + span),
      scores: series.smoothed[row]!,
    })),
  };
}

/**
 * The emotion curve: the smoothed score of every label over time, a line averaged down to about a point per pixel,
 * as an SVG chart like the timeline's.
 */
export function frameSeriesToSvg(
  series: FrameSeries,
  options: TimelineSvgOptions = {},
  labels?: readonly string[],
): string {
  return scoreChartSvg(frameSeriesSpans(series, labels), { ...options, shape: 'line' });
}

function seriesInfo(scores: FrameScores, step: number, rows: number): FrameSeriesInfo {
  return {
    labels: labelKeys(scores.labels),
    hop_seconds: scores.hopSeconds,
    smoothing_seconds: scores.smoothingSeconds,
    frames: scores.shape[0],
    step,
    rows,
  };
}

/** Mean of rows [from, to) of a row-major (frames x width) array, each value to 6 decimals. */
function blockMean(data: Float32Array, width: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let l = 0; l < width; l++) {
    let sum = 0;
    for (let t = from; t < to; t++) sum += data[t * width + l]!;
    out.push(round(sum / (to - from), 6));
  }
  return out;
}

function round(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
