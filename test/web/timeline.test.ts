/** The page's timeline strip (the hook for long-audio results): one block per segment, coloured by top label. */
import { expect, it } from 'vitest';
import { timelineSvg } from '../../src/web/timeline.js';

it('draws one block per segment, proportional to time, grey where there is no speech, titles escaped', () => {
  const labels = ['生气/angry', '开心/happy'];
  const svg = timelineSvg(
    [
      { start: 0, end: 1, top: '开心/happy', speech: true },
      { start: 1, end: 3, top: null, speech: false },
      { start: 3, end: 4, top: '<b>&', speech: true },
    ],
    labels,
  );
  const rects = [...svg.matchAll(/<rect x="([\d.]+)" y="0" width="([\d.]+)" height="40" fill="([^"]+)"><title>([^<]*)<\/title><\/rect>/g)];
  expect(rects.map((r) => [Number(r[1]), Number(r[2])])).toEqual([[0, 250], [250, 500], [750, 250]]);
  expect(rects[0]![3]).not.toBe(rects[1]![3]);
  expect(rects[1]![3]).toBe('#ddd');
  expect(rects[1]![4]).toContain('no speech');
  expect(svg).not.toContain('<b>');
  expect(rects[2]![4]).toContain('&#60;b&#62;&#38;');
});
