/**
 * The emotion timeline of a long recording: when a result carries `timeline` (the `timeline` option), the page
 * draws the same SVG chart as `emotion2vec analyze --plot` (src/results/timeline.ts), so both show one picture.
 */
import type { TimelineEntry } from '../model/segment-runner.js';
import { timelineToSvg } from '../results/timeline.js';

/** Shows the record's timeline in `container`, or hides the container when there is none. */
export function renderTimeline(
  container: HTMLElement,
  record: { timeline?: readonly TimelineEntry[]; labels: readonly { label: string }[] },
): void {
  const segments = record.timeline;
  container.hidden = !segments || segments.length === 0;
  container.innerHTML = container.hidden
    ? ''
    : timelineToSvg(
        segments!,
        record.labels.map((l) => l.label),
      );
}
