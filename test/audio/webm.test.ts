/** WebM Opus (what browsers' MediaRecorder writes): demuxed by src/audio/webm.ts, decoded by the bundled libopus. */
import '../../src/node.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { readWebmOpus } from '../../src/audio/webm.js';
import { AudioInputError } from '../../src/errors.js';
import { getFallbackDecoder, installFallbackDecoder } from '../../src/audio/fallback-decoder.js';
import { sha256 } from '../support/audio.js';

const FORMATS = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(FORMATS + name));

describe('WebM Opus', () => {
  const original = getFallbackDecoder();
  afterEach(() => installFallbackDecoder(original));
  const withoutFallback = (): void => installFallbackDecoder(undefined);

  for (const [webm, ogg, channels] of [
    ['opus_16k.webm', 'opus_16k.opus', 1],
    ['opus_44k_stereo.webm', 'opus_44k_stereo.ogg', 2],
  ] as const) {
    it(`${webm}: the same samples as the Ogg Opus file of the same encoder settings (pre-skip and end padding dropped), without ffmpeg`, async () => {
      withoutFallback();
      const fromWebm = await decodeAudio(fixture(webm), { fileName: webm });
      expect(fromWebm).toMatchObject({
        format: 'webm',
        decoder: 'bundled',
        sampleRate: 48000,
        sourceChannels: channels,
      });
      expect(fromWebm.channels[0]!.length).toBe(48000);
      expect(sha256(fromWebm.channels)).toBe(sha256((await decodeAudio(fixture(ogg))).channels));
    });
  }

  it('reads live recordings (unknown-size Segment and Clusters) and files with known sizes alike', () => {
    const live = fixture('opus_16k.webm');
    expect(Array.from(live.subarray(0x28, 0x30))).toEqual([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]); // Segment size "unknown"
    expect(readWebmOpus(live).packets.length).toBeGreaterThan(40);
    expect(readWebmOpus(fixture('opus_44k_stereo.webm')).packets.length).toBeGreaterThan(40);
  });

  it('a recording cut mid-cluster keeps the audio before the cut', async () => {
    const bytes = fixture('opus_16k.webm');
    const cut = await decodeAudio(bytes.subarray(0, Math.floor(bytes.length * 0.6)), { fileName: 'cut.webm' });
    expect(cut.channels[0]!.length).toBeGreaterThan(10_000);
    expect(cut.channels[0]!.length).toBeLessThan(48_000);
  });

  it('a WebM whose track is another codec goes to the platform fallback, and without one is AUDIO_UNSUPPORTED_FORMAT naming the codec', async () => {
    withoutFallback();
    const bytes = fixture('opus_16k.webm');
    const at = Buffer.from(bytes).indexOf('A_OPUS');
    bytes.set(new TextEncoder().encode('A_FLAC'), at);
    const error = await decodeAudio(bytes, { fileName: 'flac.webm' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioInputError);
    expect(error).toMatchObject({
      code: 'AUDIO_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/flac\.webm.*WebM.*A_FLAC, not Opus/),
    });
    let handedOver = false;
    installFallbackDecoder(async () => ((handedOver = true), null));
    await decodeAudio(bytes, { fileName: 'flac.webm' }).catch(() => undefined);
    expect(handedOver).toBe(true);
  });

  it('garbage after a WebM header: AUDIO_DECODE, not handed to ffmpeg', async () => {
    const bytes = fixture('opus_16k.webm').slice(0, 600);
    for (let i = 0x30; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 251;
    let handedOver = false;
    installFallbackDecoder(async () => ((handedOver = true), null));
    await expect(decodeAudio(bytes, { fileName: 'junk.webm' })).rejects.toMatchObject({
      code: 'AUDIO_DECODE',
      message: expect.stringMatching(/junk\.webm/),
    });
    expect(handedOver).toBe(false);
  });
});
