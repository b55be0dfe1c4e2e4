/** The page's timeline: the same chart as `analyze --plot`, shown only when a result has a timeline. */
import { expect, it } from 'vitest';
import type { TimelineEntry } from '../../src/model/segment-runner.js';
import { timelineToSvg } from '../../src/results/timeline.js';
import { renderTimeline } from '../../src/web/timeline.js';

const labels = ['生气/angry', '开心/happy'];
const timeline: TimelineEntry[] = [
  {
    start: 0,
    end: 1,
    speech: true,
    top: { label: '开心/happy', name: 'happy', score: 0.8, index: 1 },
    scores: [0.2, 0.8],
    frames: 50,
  },
  {
    start: 1,
    end: 3,
    speech: false,
    top: { label: '生气/angry', name: 'angry', score: 0.6, index: 0 },
    scores: [0.6, 0.4],
    frames: 100,
  },
];

it('draws the shared timeline chart for a result with a timeline', () => {
  const container = { hidden: true, innerHTML: '' } as unknown as HTMLElement;
  renderTimeline(container, { timeline, labels: labels.map((label) => ({ label })) });
  expect(container.hidden).toBe(false);
  expect(container.innerHTML).toBe(timelineToSvg(timeline, labels));
  expect(container.innerHTML).toMatch(/^<svg/);
});

it('hides the container for a result without one', () => {
  const container = { hidden: false, innerHTML: 'old' } as unknown as HTMLElement;
  renderTimeline(container, { labels: labels.map((label) => ({ label })) });
  expect(container.hidden).toBe(true);
  expect(container.innerHTML).toBe('');
});
