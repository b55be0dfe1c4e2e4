/** timelineToCsv / timelineToSvg: plain text from a timeline, the same in Node and the page. */
import { describe, expect, it } from 'vitest';
import { timelineToCsv, timelineToSvg } from '../../src/results/timeline.js';
import type { TimelineEntry } from '../../src/model/segment-runner.js';

const labels = ['生气/angry', '开心/happy', '<unk>'];
const timeline: TimelineEntry[] = [
  {
    start: 0,
    end: 0.64,
    speech: false,
    top: { label: '<unk>', score: 0.5, index: 2 },
    scores: [0.2, 0.3, 0.5],
    frames: 32,
  },
  {
    start: 0.64,
    end: 3.58,
    speech: true,
    top: { label: '开心/happy', score: 0.7, index: 1 },
    scores: [0.1, 0.7, 0.2],
    frames: 147,
  },
  { start: 3.58, end: 4.1, speech: false, top: null, scores: [], frames: 0 },
];

describe('timelineToCsv', () => {
  it('writes a header with one column per label (English names) and one row per entry', () => {
    const lines = timelineToCsv(timeline, labels).trimEnd().split('\n');
    expect(lines[0]).toBe('start,end,speech,emotion,confidence,angry,happy,unknown');
    expect(lines[1]).toBe('0.000,0.640,false,unknown,0.500000,0.200000,0.300000,0.500000');
    expect(lines[2]).toBe('0.640,3.580,true,happy,0.700000,0.100000,0.700000,0.200000');
    expect(lines[3]).toBe('3.580,4.100,false,,,,,');
  });

  it('quotes fields that need it', () => {
    expect(timelineToCsv([], ['a,b/x"y'])).toBe('start,end,speech,emotion,confidence,"x""y"\n');
  });
});

describe('timelineToSvg', () => {
  const svg = timelineToSvg(timeline, labels, { title: 'talk <1>.wav', width: 600, height: 300 });

  it('draws one step line per label over the timeline, shades non-speech, escapes the title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(lines).toHaveLength(3);
    // Two points (start, end) per scored entry; the happy line is at 0.7 over the speech segment.
    expect(lines[1]).toHaveLength(4);
    const [x0, y0] = lines[1]![2]!.split(',').map(Number);
    expect(x0).toBeCloseTo(48 + (0.64 / 4.1) * (600 - 48 - 150), 0);
    expect(y0).toBeCloseTo(32 + 0.3 * (300 - 32 - 34), 0);
    expect(svg.match(/<title>no speech<\/title>/g)).toHaveLength(2);
    expect(svg).toContain('talk &lt;1&gt;.wav');
    expect(svg).toContain('>happy</text>');
  });

  it('an empty timeline is still a valid chart', () => {
    expect(timelineToSvg([], labels)).toContain('</svg>');
  });
});
