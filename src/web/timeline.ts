/**
 * The frame timeline of a long recording. Hook for the long-audio issue: when a result record carries
 * `timeline: [{ start, end, top, scores, speech }]`, the page shows it here. This draws a plain strip (one
 * coloured block per segment, its top label as the tooltip); swap `timelineSvg` for the chart function of
 * src/results/ once it is merged.
 */
export interface TimelineSegment {
  readonly start: number;
  readonly end: number;
  readonly top: string | null;
  readonly scores?: readonly number[];
  readonly speech?: boolean;
}

const PALETTE = ['#d94841', '#7a9a01', '#7b4fbf', '#f2a900', '#8a8f98', '#3b8ea5', '#2f5fb3', '#e0679b', '#555'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An SVG strip of the segments, coloured by top label (`labels` fixes the colour order). */
export function timelineSvg(segments: readonly TimelineSegment[], labels: readonly string[]): string {
  const total = Math.max(1e-6, ...segments.map((s) => s.end));
  const blocks = segments.map((s) => {
    const x = (s.start / total) * 1000;
    const width = Math.max(1, ((s.end - s.start) / total) * 1000);
    const colour = s.speech === false || s.top === null ? '#ddd' : PALETTE[Math.max(0, labels.indexOf(s.top)) % PALETTE.length];
    const title = `${s.start.toFixed(2)}–${s.end.toFixed(2)} s: ${s.speech === false ? 'no speech' : (s.top ?? '—')}`;
    return `<rect x="${x.toFixed(1)}" y="0" width="${width.toFixed(1)}" height="40" fill="${colour}"><title>${escapeXml(title)}</title></rect>`;
  });
  return `<svg viewBox="0 0 1000 40" preserveAspectRatio="none" role="img" aria-label="emotion timeline">${blocks.join('')}</svg>`;
}

/** Shows the record's timeline in `container`, or hides the container when there is none. */
export function renderTimeline(container: HTMLElement, record: { timeline?: readonly TimelineSegment[]; scores: readonly { label: string }[] }): void {
  const segments = record.timeline;
  container.hidden = !segments || segments.length === 0;
  container.innerHTML = container.hidden ? '' : timelineSvg(segments!, record.scores.map((s) => s.label));
}
