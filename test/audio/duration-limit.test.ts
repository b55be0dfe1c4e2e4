/**
 * `maxDurationSeconds`: every decoder refuses audio over the bound with AUDIO_TOO_LONG before making its samples
 * (from the header: WAV, FLAC, MP4) or after decoding at most a piece past the bound (MP3, Ogg, ADTS, WebM, the
 * ffmpeg fallback), and decodes audio within it as before. Memory and time of the bombs are measured in child
 * processes by test/hostile/corpus.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../src/node.js';
import { decodeAudio } from '../../src/audio/decode.js';
import { prepareAudio } from '../../src/audio/prepare.js';
import { isEmotion2VecError } from '../../src/errors.js';
import { silentFlac } from '../hostile/make.js';
import { wavBytes } from '../server/support.js';
import { HAS_FFMPEG } from '../support/audio.js';

async function refusal(
  work: Promise<unknown>,
): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isEmotion2VecError(error)) throw new Error(`expected a typed error, got ${String(error)}`);
  return { code: error.code, message: error.message, details: error.details ?? {} };
}

describe('from the header, before any sample is made', () => {
  it('WAV: over the bound is AUDIO_TOO_LONG naming the option; at the bound it decodes', async () => {
    const wav = wavBytes(16_000 * 3); // 3 s at 16 kHz
    const refused = await refusal(decodeAudio(wav, { maxDurationSeconds: 2.5, fileName: 'three.wav' }));
    expect(refused.code).toBe('AUDIO_TOO_LONG');
    expect(refused.message).toMatch(
      /"three\.wav".*3\.0 s long, over the limit of 2\.5 s \(maxDurationSeconds; --max-duration/,
    );
    expect(refused.details).toMatchObject({ durationSeconds: 3, maxDurationSeconds: 2.5 });
    expect((await decodeAudio(wav, { maxDurationSeconds: 3 })).channels[0]).toHaveLength(48_000);
    expect((await decodeAudio(wav)).channels[0]).toHaveLength(48_000);
  });

  it('FLAC: 40 hours of silence in 260 KB is refused from its frame headers, also when STREAMINFO says 0 or lies', async () => {
    const hours40 = silentFlac(40 * 3600, 8000);
    expect(hours40.length).toBeLessThan(300_000);
    for (const bytes of [hours40, silentFlac(40 * 3600, 8000, 0), silentFlac(40 * 3600, 8000, 8000)]) {
      const refused = await refusal(decodeAudio(bytes, { mono: true, maxDurationSeconds: 1200 }));
      expect(refused.code).toBe('AUDIO_TOO_LONG');
      expect(refused.details.durationSeconds).toBe(40 * 3600);
      expect(refused.message).toContain('40.0 h long');
    }
    const short = await decodeAudio(silentFlac(3, 8000), { maxDurationSeconds: 3 });
    expect([short.channels[0]!.length, short.sampleRate, short.decoder]).toEqual([24_000, 8000, 'bundled']);
  });

  it('samples handed over directly are held to the bound too; a bad bound is INVALID_ARGUMENT', async () => {
    const refused = await refusal(prepareAudio(new Float32Array(16_000 * 2), { maxDurationSeconds: 1 }));
    expect(refused.code).toBe('AUDIO_TOO_LONG');
    const channels = await refusal(
      prepareAudio({ channels: [new Float32Array(8000 * 2)], sampleRate: 8000 }, { maxDurationSeconds: 1.5 }),
    );
    expect(channels.code).toBe('AUDIO_TOO_LONG');
    for (const bad of [0, -1, Number.NaN, '60'])
      expect((await refusal(prepareAudio(new Float32Array(16_000), { maxDurationSeconds: bad as number }))).code).toBe(
        'INVALID_ARGUMENT',
      );
  });
});

describe.skipIf(!HAS_FFMPEG)('a piece at a time, stopping at the bound (files made by ffmpeg)', () => {
  let dir: string;
  const files: Record<string, Uint8Array> = {};
  /** Three minutes of a quiet tone in each format, and ten seconds for the within-the-bound check. */
  const formats: Record<string, string[]> = {
    'long.mp3': ['-c:a', 'libmp3lame', '-b:a', '16k'],
    'long.ogg': ['-c:a', 'libvorbis', '-q:a', '0'],
    'long.opus': ['-c:a', 'libopus', '-b:a', '8k'],
    'long.aac': ['-c:a', 'aac', '-b:a', '16k', '-f', 'adts'],
    'long.m4a': ['-c:a', 'aac', '-b:a', '16k'],
    'long.webm': ['-c:a', 'libopus', '-b:a', '8k'],
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'e2v-duration-'));
    for (const [name, codec] of Object.entries(formats)) {
      for (const [prefix, seconds] of [
        ['', 180],
        ['short-', 10],
      ] as const) {
        const path = join(dir, prefix + name);
        execFileSync('ffmpeg', [
          ...['-loglevel', 'error', '-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=16000:duration=${seconds}`],
          ...['-af', 'volume=0.1', ...codec, '-y', path],
        ]);
        files[prefix + name] = new Uint8Array(readFileSync(path));
      }
    }
    // 40 hours of FLAC silence in a Matroska container: no bundled decoder reads it, so ffmpeg does.
    const flac = join(dir, 'bomb.flac');
    writeFileSync(flac, silentFlac(40 * 3600, 8000));
    execFileSync('ffmpeg', ['-loglevel', 'error', '-i', flac, '-c:a', 'copy', '-y', join(dir, 'bomb.mka')]);
    files['bomb.mka'] = new Uint8Array(readFileSync(join(dir, 'bomb.mka')));
  }, 120_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(Object.keys(formats))(
    '%s: three minutes against a one-minute bound are AUDIO_TOO_LONG; ten seconds decode as without a bound',
    async (name) => {
      const refused = await refusal(decodeAudio(files[name]!, { mono: true, maxDurationSeconds: 60 }));
      expect(refused.code, refused.message).toBe('AUDIO_TOO_LONG');
      const seconds = refused.details.durationSeconds as number;
      expect(seconds).toBeGreaterThan(60);
      // Streamed formats stop within a piece of the bound; MP4 states its whole length up front.
      if (name === 'long.m4a') expect(seconds).toBeCloseTo(180, 0);
      else expect(seconds).toBeLessThan(120);

      const short = files[`short-${name}`]!;
      const bounded = await decodeAudio(short, { mono: true, maxDurationSeconds: 60 });
      const free = await decodeAudio(short, { mono: true });
      expect(bounded.sampleRate).toBe(free.sampleRate);
      expect(bounded.channels[0]!.length).toBeGreaterThan(9 * free.sampleRate);
      expect(bounded.channels[0]).toEqual(free.channels[0]);
    },
    60_000,
  );

  it('the ffmpeg fallback streams its output against the bound: a 1 MB file of 40 hours stops at the bound', async () => {
    const bomb = files['bomb.mka']!;
    expect(bomb.length).toBeLessThan(2_000_000);
    const refused = await refusal(decodeAudio(bomb, { mono: true, maxDurationSeconds: 60, fileName: 'bomb.mka' }));
    expect(refused.code).toBe('AUDIO_TOO_LONG');
    expect(refused.message).toMatch(/"bomb\.mka" is more than 1\.0 min long/);
    expect(refused.details.durationSeconds as number).toBeLessThan(120);
  }, 60_000);
});
