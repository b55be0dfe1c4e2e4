/** `analyze --timeline / --plot`: timeline.json, timeline.csv and timeline.svg next to result.json. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures.js';
import { expectValidResult } from '../support/result-schema.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-cli-timeline-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const TINY = ['--model', fixturePath('tiny'), '--backend', 'wasm'];
const phrases = fixturePath('long', 'phrases.wav');
const truth = JSON.parse(readFileSync(fixturePath('long', 'phrases.json'), 'utf8')) as {
  speech: { start: number; end: number }[];
};

describe('emotion2vec analyze --timeline --plot', () => {
  it('writes timeline.json, timeline.csv and timeline.svg next to result.json', async () => {
    const out = join(work, 'run');
    const { code, stderr } = await runCli(['analyze', phrases, ...TINY, '--output-dir', out, '--timeline', '--plot']);
    expect(code, stderr).toBe(0);
    expect(readdirSync(join(out, 'phrases')).sort()).toEqual([
      'processed_audio.wav',
      'result.json',
      'timeline.csv',
      'timeline.json',
      'timeline.svg',
    ]);
    const result = expectValidResult(JSON.parse(readFileSync(join(out, 'phrases', 'result.json'), 'utf8'))) as {
      files: string[];
      labels: { label: string }[];
    };
    expect(result.files).toEqual(['processed_audio.wav', 'timeline.json', 'timeline.csv', 'timeline.svg']);
    const timeline = JSON.parse(readFileSync(join(out, 'phrases', 'timeline.json'), 'utf8'));
    expect(timeline.labels).toEqual(result.labels.map((l) => l.label));
    const speech = timeline.segments.filter((s: { speech: boolean }) => s.speech);
    // Non-speech segments carry no emotion, in the JSON and the CSV.
    for (const segment of timeline.segments.filter((s: { speech: boolean }) => !s.speech))
      expect(segment).toMatchObject({ top: null, scores: [] });
    expect(speech).toHaveLength(3);
    speech.forEach((s: { start: number; end: number }, i: number) =>
      expect(Math.abs(s.start - truth.speech[i]!.start)).toBeLessThanOrEqual(0.1),
    );
    const csv = readFileSync(join(out, 'phrases', 'timeline.csv'), 'utf8')
      .trimEnd()
      .split('\n');
    expect(csv[0]!.startsWith('start,end,speech,emotion,confidence,angry,')).toBe(true);
    expect(csv).toHaveLength(timeline.segments.length + 1);
    timeline.segments.forEach((segment: { speech: boolean }, i: number) => {
      if (!segment.speech) expect(csv[i + 1]).toMatch(/^[\d.]+,[\d.]+,false,,,(,)+$/);
    });
    const svg = readFileSync(join(out, 'phrases', 'timeline.svg'), 'utf8');
    expect(svg.match(/<path /g)).toHaveLength(result.labels.length);
  });

  it('--timeline with --no-output --json puts the segments in the JSON line', async () => {
    const { code, stdout, stderr } = await runCli(['analyze', phrases, ...TINY, '--no-output', '--json', '--timeline']);
    expect(code, stderr).toBe(0);
    const record = expectValidResult(JSON.parse(stdout.trim())) as {
      timeline: { speech: boolean; end: number }[];
      duration: number;
    };
    expect(record.timeline.filter((s: { speech: boolean }) => s.speech)).toHaveLength(3);
    expect(record.timeline.at(-1)!.end).toBeCloseTo(record.duration, 6);
  });
});
