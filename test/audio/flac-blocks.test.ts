/**
 * FLAC as ffmpeg and flac(1) write it, at several rates, channel counts, sample sizes and block sizes, each ending
 * in short silent blocks and a last partial block (test/fixtures/flac-blocks/make_flac_blocks.sh): every
 * block is decoded, and the samples are exactly those of the WAV the file was encoded from.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { flacFrames } from '../../src/audio/flac-frames.js';
import { fixturePath } from '../support/fixtures.js';

const FOLDER = fixturePath('flac-blocks');
const FILES = readdirSync(FOLDER).filter((name) => name.endsWith('.flac'));

/** The WAV a FLAC fixture was made from: `ffmpeg_s16_8k.flac` and `flac_s16_8k_b1152.flac` come from s16_8k.wav. */
function sourceWav(flac: string): string {
  return `${flac.replace(/^(ffmpeg|flac)_/, '').replace(/(_b\d+)?\.flac$/, '')}.wav`;
}

/** The total samples per channel that STREAMINFO declares. */
function declaredSamples(bytes: Uint8Array): number {
  return (
    (bytes[21]! & 0x0f) * 2 ** 32 + ((bytes[22]! << 24) >>> 0) + (bytes[23]! << 16) + (bytes[24]! << 8) + bytes[25]!
  );
}

describe('FLAC from ffmpeg and flac(1), every block decoded', () => {
  it('has the fixtures: both encoders, five sources', () => {
    expect(FILES.filter((name) => name.startsWith('ffmpeg_')).length).toBeGreaterThanOrEqual(5);
    expect(FILES.filter((name) => name.startsWith('flac_')).length).toBeGreaterThanOrEqual(5);
    expect(new Set(FILES.map(sourceWav)).size).toBe(5);
  });

  it.each(FILES)('%s decodes to the samples of its WAV, bit for bit', async (name) => {
    const bytes = new Uint8Array(readFileSync(join(FOLDER, name)));
    const flac = await decodeAudio(bytes, { fileName: name });
    const wav = await decodeAudio(new Uint8Array(readFileSync(join(FOLDER, sourceWav(name)))));
    expect(flac.decoder).toBe('bundled');
    expect(flac.sampleRate).toBe(wav.sampleRate);
    expect(flac.channels.length).toBe(wav.channels.length);
    expect(flac.channels[0]!.length).toBe(declaredSamples(bytes));
    flac.channels.forEach((channel, c) => {
      const expected = wav.channels[c]!;
      expect(channel.length).toBe(expected.length);
      const firstDifference = channel.findIndex((value, i) => value !== expected[i]);
      expect(firstDifference, `first differing sample of channel ${c}`).toBe(-1);
    });
  });

  it('cuts each stream into frames at their CRC-checked boundaries; a stream cut short is refused', async () => {
    const bytes = new Uint8Array(readFileSync(join(FOLDER, 'ffmpeg_s16_22k.flac')));
    const frames = flacFrames(bytes);
    // 13230 samples in blocks of 2304: five whole blocks and a last one of 1710.
    expect(frames).toHaveLength(6);
    expect(frames.every((frame) => frame[0] === 0xff && (frame[1]! & 0xfe) === 0xf8)).toBe(true);
    const cut = bytes.subarray(0, bytes.length - 3);
    await expect(decodeAudio(cut, { fileName: 'cut.flac' })).rejects.toMatchObject({
      code: 'AUDIO_DECODE',
      message: expect.stringMatching(/fails its CRC-16 check: the file is cut short or damaged/),
    });
  });
});
