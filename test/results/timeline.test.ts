/** timelineToCsv / timelineToSvg: plain text from a timeline, the same in Node and the page. */
import { describe, expect, it } from 'vitest';
import { speechTimeline, timelineToCsv, timelineToSvg } from '../../src/results/timeline.js';
import type { TimelineEntry } from '../../src/model/segment-runner.js';

const labels = ['生气/angry', '开心/happy', '<unk>'];
const timeline: TimelineEntry[] = [
  {
    start: 0,
    end: 0.64,
    speech: false,
    // What the model says about the silence: results show no emotion for it.
    top: { label: '<unk>', name: 'unknown', score: 0.5, index: 2 },
    scores: [0.2, 0.3, 0.5],
    frames: 32,
  },
  {
    start: 0.64,
    end: 3.58,
    speech: true,
    top: { label: '开心/happy', name: 'happy', score: 0.7, index: 1 },
    scores: [0.1, 0.7, 0.2],
    frames: 147,
  },
  { start: 3.58, end: 4.1, speech: false, top: null, scores: [], frames: 0 },
  {
    start: 4.1,
    end: 5,
    speech: true,
    top: { label: '生气/angry', name: 'angry', score: 0.6, index: 0 },
    scores: [0.6, 0.3, 0.1],
    frames: 45,
  },
];

describe('speechTimeline', () => {
  it('keeps speech segments as they are and takes the emotion off non-speech ones', () => {
    const shown = speechTimeline(timeline);
    expect(shown[0]).toEqual({ start: 0, end: 0.64, speech: false, top: null, scores: [], frames: 32 });
    expect(shown[1]).toBe(timeline[1]);
    expect(shown[3]).toBe(timeline[3]);
    expect(timeline[0]!.top).not.toBeNull(); // the input is not changed
  });
});

describe('timelineToCsv', () => {
  it('writes a header with one column per label (their names) and one row per entry; non-speech rows have no emotion', () => {
    const lines = timelineToCsv(timeline, labels).trimEnd().split('\n');
    expect(lines[0]).toBe('start,end,speech,emotion,confidence,angry,happy,unknown');
    expect(lines[1]).toBe('0.000,0.640,false,,,,,');
    expect(lines[2]).toBe('0.640,3.580,true,happy,0.700000,0.100000,0.700000,0.200000');
    expect(lines[3]).toBe('3.580,4.100,false,,,,,');
    expect(lines[4]).toBe('4.100,5.000,true,angry,0.600000,0.600000,0.300000,0.100000');
  });

  it('quotes fields that need it', () => {
    expect(timelineToCsv([], ['a,b/x"y'])).toBe('start,end,speech,emotion,confidence,"x""y"\n');
  });
});

describe('timelineToSvg', () => {
  const svg = timelineToSvg(timeline, labels, { title: 'talk <1>.wav', width: 600, height: 300 });
  // Each label's path as its runs (M...L...), each run as its points.
  const paths = [...svg.matchAll(/<path [^>]*d="([^"]+)"/g)].map((m) =>
    m[1]!
      .split('M')
      .filter(Boolean)
      .map((run) => run.split('L')),
  );

  it('draws one step line per label over the speech segments, broken where there is none, shades non-speech, escapes the title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(paths).toHaveLength(3);
    // Two runs per label (the two speech segments), two points (start, end) each; the happy line is at 0.7 over
    // the first one.
    expect(paths[1]!.map((run) => run.length)).toEqual([2, 2]);
    const [x0, y0] = paths[1]![0]![0]!.split(',').map(Number);
    expect(x0).toBeCloseTo(48 + (0.64 / 5) * (600 - 48 - 150), 0);
    expect(y0).toBeCloseTo(32 + 0.3 * (300 - 32 - 34), 0);
    expect(svg.match(/<title>no speech<\/title>/g)).toHaveLength(2);
    expect(svg).toContain('talk &lt;1&gt;.wav');
    expect(svg).toContain('>开心 happy</text>');
    expect(svg).toContain('>未知 unknown</text>');
  });

  it('an empty timeline is still a valid chart', () => {
    expect(timelineToSvg([], labels)).toContain('</svg>');
  });
});
