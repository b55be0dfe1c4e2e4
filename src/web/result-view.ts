/**
 * The result panel: the top emotion as the WebUI shows it (face, Chinese and English name, 置信度), a bar per label,
 * the quality warnings, the emotion curve (frame mode), the timeline (long files) and which downloads apply. It
 * shows a result record (src/results/record.ts) as it is, whichever mode made it.
 */
import type { ResultRecord } from '../results/record.js';
import {
  labelColour,
  scoreChartSvg,
  timelineSeries,
  withoutSilence,
  type ScoreSeries,
} from '../results/score-chart.js';
import { emojiFor } from './emoji.js';
import { faceSvg } from './faces.js';

/** What one run produced, to show. */
export interface ShownResult {
  readonly record: ResultRecord;
  /** Per-frame label scores, when the run made them (frame mode). */
  readonly frames: ScoreSeries | null;
  /** Where the model ran, for the line under the result ("server (wasm)", "this page (webgl)"). */
  readonly ranOn: string;
}

/** One row of the score bars. */
interface ScoreRow {
  readonly label: string;
  readonly en: string;
  readonly zh: string | null;
  readonly score: number;
}

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** An emotion's face (inline SVG) with its emoji as text, hidden from view but there to copy and to read aloud. */
export function faceElement(englishName: string | null, className = 'face'): HTMLElement {
  const face = document.createElement('span');
  face.className = className;
  face.innerHTML = faceSvg(englishName);
  const glyph = document.createElement('span');
  glyph.className = 'glyph';
  glyph.textContent = emojiFor(englishName);
  face.append(glyph);
  return face;
}

/** "Happy" from "happy". */
function capitalised(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** The record's scores as bar rows, in the model's label order. */
function scoreRows(record: ResultRecord): ScoreRow[] {
  return record.scores.map((score) => ({ label: score.label, en: score.en, zh: score.zh, score: score.score }));
}

/** The chart of frame scores (a line) or of segments (steps) as the figure's content. */
function drawChart(container: HTMLElement, series: ScoreSeries, shape: 'line' | 'steps'): void {
  container.innerHTML = scoreChartSvg(series, { width: 720, height: 260, shape });
  container.dataset.spans = String(series.spans.length);
}

/** Hides the result and empties every part of it: nothing of an old run stays on screen. */
export function clearResult(): void {
  element('result-panel').hidden = true;
  for (const id of ['top-face', 'top-name', 'top-confidence', 'score-bars', 'warnings', 'curve', 'timeline']) {
    element(id).replaceChildren();
  }
  for (const id of ['curve-panel', 'timeline-panel', 'download-npy', 'download-frames', 'download-timeline']) {
    element(id).hidden = true;
  }
  element('curve-note').textContent = '';
  element('result-meta').textContent = '';
}

/** Shows one run's result. */
export function showResult({ record, frames, ranOn }: ShownResult): void {
  clearResult();
  const rows = scoreRows(record);
  const top = rows.find((row) => row.en === record.emotion) ?? null;
  element('top-face').replaceWith(Object.assign(faceElement(record.emotion), { id: 'top-face' }));
  element('top-name').textContent = record.emotion
    ? `${record.emotion_zh ? `${record.emotion_zh} ` : ''}(${capitalised(record.emotion)})`
    : 'no labels (embedding-only model)';
  element('top-confidence').textContent =
    record.confidence === null ? '' : `置信度 confidence: ${(record.confidence * 100).toFixed(1)}%`;

  element('score-bars').replaceChildren(
    ...rows.map((row, i) => {
      const item = document.createElement('li');
      item.dataset.label = row.label;
      item.dataset.score = String(row.score);
      if (row === top) item.classList.add('top');
      const name = document.createElement('span');
      name.className = 'name';
      name.append(faceElement(row.en, 'face small'), ` ${row.zh ?? ''} ${row.en}`);
      const bar = document.createElement('span');
      bar.className = 'bar';
      const fill = document.createElement('span');
      fill.style.width = `${(row.score * 100).toFixed(2)}%`;
      fill.style.background = labelColour(row.label, i);
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'value';
      value.textContent = `${(row.score * 100).toFixed(1)}%`;
      item.append(name, bar, value);
      return item;
    }),
  );

  element('warnings').replaceChildren(
    ...record.quality.warnings.map((warning) => {
      const item = document.createElement('li');
      item.textContent = `⚠ ${warning.message}`;
      item.dataset.code = warning.code;
      return item;
    }),
  );

  const labels = rows.map((row) => row.label);
  const segments = record.timeline && record.timeline.length > 0 ? timelineSeries(record.timeline, labels) : null;
  // Frame mode draws the curve: from per-frame scores when the run has them, else from the timeline's segments.
  // A long file's frames in non-speech segments are drawn without an emotion, as the timeline draws them.
  const frameCurve = frames && record.timeline ? withoutSilence(frames, record.timeline) : frames;
  const curve = record.granularity === 'frame' ? (frameCurve ?? segments) : null;
  if (curve) {
    element('curve-panel').hidden = false;
    element('curve-panel').dataset.source = frames ? 'frames' : 'segments';
    drawChart(element('curve'), curve, frames ? 'line' : 'steps');
    element('curve-note').textContent = frames
      ? `(${frames.spans.length} frames of 20 ms${segments ? '; grey: no speech' : ''})`
      : '(per speech segment: this server sends no per-frame scores; the in-page mode draws them)';
  }
  if (segments && curve !== segments) {
    element('timeline-panel').hidden = false;
    drawChart(element('timeline'), segments, 'steps');
  }

  element('download-npy').hidden = !record.embedding?.data;
  element('download-frames').hidden = !frames;
  element('download-timeline').hidden = !record.timeline;
  element('result-meta').textContent = `${record.input} · ${record.duration.toFixed(2)} s · ${ranOn} · ${record.model}`;
  element('result-panel').hidden = false;
}
