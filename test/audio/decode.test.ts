import '../../src/node.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeAudio, mixToMono } from '../../src/audio/decode.js';
import { decodeWithFfmpeg } from '../../src/audio/ffmpeg.js';
import { resample } from '../../src/audio/resample.js';
import { decodeWav } from '../../src/audio/wav.js';
import { AudioInputError } from '../../src/errors.js';
import { getFallbackDecoder, installFallbackDecoder } from '../../src/audio/fallback-decoder.js';
import { alignedCorrelation, HAS_FFMPEG, sha256 } from '../support/audio.js';

const FORMATS = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const AUDIO = fileURLToPath(new URL('../fixtures/audio/', import.meta.url));
const reference = JSON.parse(readFileSync(`${FORMATS}reference.json`, 'utf8')) as {
  files: Record<string, { sampleRate: number; channels: number; frames: number; sha256: string; monoSha256: string }>;
};

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));
const fixture = (name: string): Uint8Array => read(FORMATS + name);

const speech16k = decodeWav(read(`${AUDIO}speech16k.wav`)).channels[0]!;
const speech44k = decodeWav(read(`${AUDIO}speech44k_stereo.wav`)).channels;

describe('decodeAudio routes each format to its decoder', () => {
  const cases: [file: string, format: string, decoder: string, rate: number, channels: number][] = [
    ['pcm_s16_16k.wav', 'wav', 'wav', 16000, 1],
    ['pcm_u8_16k.wav', 'wav', 'wav', 16000, 1],
    ['pcm_s24_8k_plain.wav', 'wav', 'wav', 8000, 1],
    ['ext_s32_16k.wav', 'wav', 'wav', 16000, 1],
    ['float32_22k_plain.wav', 'wav', 'wav', 22050, 1],
    ['ext_float64_8k.wav', 'wav', 'wav', 8000, 1],
    ['ext_s24_3ch_8k.wav', 'wav', 'wav', 8000, 3],
    ['pcm_s16_stereo_48k.wav', 'wav', 'wav', 48000, 2],
    ['mulaw_8k.wav', 'wav', 'bundled', 8000, 1],
    ['flac16_16k.flac', 'flac', 'bundled', 16000, 1],
    ['flac24_8k.flac', 'flac', 'bundled', 8000, 1],
    ['mp3_16k.mp3', 'mp3', 'bundled', 16000, 1],
    ['mp3_44k_stereo.mp3', 'mp3', 'bundled', 44100, 2],
    ['vorbis_16k.ogg', 'vorbis', 'bundled', 16000, 1],
    ['vorbis_44k_stereo.ogg', 'vorbis', 'bundled', 44100, 2],
    ['opus_16k.opus', 'opus', 'bundled', 48000, 1], // Opus always decodes at 48 kHz
    ['opus_44k_stereo.ogg', 'opus', 'bundled', 48000, 2],
    ['aac_16k.m4a', 'm4a', 'bundled', 16000, 1],
    ['aac_44k_stereo.m4a', 'm4a', 'bundled', 44100, 2],
  ];
  for (const [file, format, decoder, rate, channels] of cases) {
    it(`${file}: ${format} via ${decoder}, ${rate} Hz, ${channels} channel(s)`, async () => {
      const decoded = await decodeAudio(fixture(file), { fileName: file });
      expect(decoded).toMatchObject({ format, decoder, sampleRate: rate, sourceChannels: channels });
      expect(decoded.channels.length).toBe(channels);
      const mono = await decodeAudio(fixture(file), { fileName: file, mono: true });
      expect(mono.channels.length).toBe(1);
      expect(mono.sourceChannels).toBe(channels);
      expect(Array.from(mono.channels[0]!.subarray(0, 64))).toEqual(
        Array.from(mixToMono(decoded.channels).subarray(0, 64)),
      );
    });
  }
});

describe('lossless formats are exact', () => {
  it('FLAC 16-bit equals the 16-bit WAV it was made from, and torchaudio.load', async () => {
    const flac = await decodeAudio(fixture('flac16_16k.flac'));
    expect(sha256(flac.channels)).toBe(sha256(decodeWav(fixture('pcm_s16_16k.wav')).channels));
    expect(sha256(flac.channels)).toBe(reference.files['flac16_16k.flac']!.sha256);
  });

  it('FLAC 24-bit equals the 24-bit WAV it was made from, and torchaudio.load', async () => {
    const flac = await decodeAudio(fixture('flac24_8k.flac'));
    expect(sha256(flac.channels)).toBe(sha256(decodeWav(fixture('pcm_s24_8k_plain.wav')).channels));
    expect(sha256(flac.channels)).toBe(reference.files['flac24_8k.flac']!.sha256);
  });

  it('FLAC whose first channel is silent and second starts silent still equals its WAV and torchaudio.load (the scale probe skips zeros)', async () => {
    const wav = decodeWav(fixture('pcm_s16_silent_start_stereo_16k.wav')).channels;
    expect(wav[0]!.every((v) => v === 0)).toBe(true);
    expect(wav[1]!.subarray(0, 4800).every((v) => v === 0)).toBe(true);
    const flac = await decodeAudio(fixture('flac16_silent_start_stereo_16k.flac'));
    expect(flac.channels.length).toBe(2);
    expect(sha256(flac.channels)).toBe(sha256(wav));
    expect(sha256(flac.channels)).toBe(reference.files['flac16_silent_start_stereo_16k.flac']!.sha256);
  });

  it('mu-law WAV (G.711 table) equals torchaudio.load', async () => {
    const decoded = await decodeAudio(fixture('mulaw_8k.wav'));
    expect(sha256(decoded.channels)).toBe(reference.files['mulaw_8k.wav']!.sha256);
  });

  it('the first second of speech16k.wav is the source of pcm_s16_16k.wav', () => {
    expect(Array.from(decodeWav(fixture('pcm_s16_16k.wav')).channels[0]!)).toEqual(
      Array.from(speech16k.subarray(0, 16000)),
    );
  });
});

describe('lossy formats: rate, channels, length and waveform close to the source', () => {
  // [file, its source: the first second of speech16k.wav (mono) or speech44k_stereo.wav]
  const cases: [file: string, source: '16k' | '44k'][] = [
    ['mp3_16k.mp3', '16k'],
    ['mp3_44k_stereo.mp3', '44k'],
    ['vorbis_16k.ogg', '16k'],
    ['vorbis_44k_stereo.ogg', '44k'],
    ['opus_16k.opus', '16k'],
    ['opus_44k_stereo.ogg', '44k'],
    ['aac_16k.m4a', '16k'],
    ['aac_44k_stereo.m4a', '44k'],
  ];
  for (const [file, source] of cases) {
    it(file, async () => {
      const decoded = await decodeAudio(fixture(file));
      const rate = source === '16k' ? 16000 : 44100;
      const sources = source === '16k' ? [speech16k] : speech44k;
      expect(decoded.channels.length).toBe(sources.length);
      // 1 s was encoded. The decoders drop the encoders' priming and padding (LAME/iTunes gapless info, Opus
      // pre-skip, Vorbis granule positions): measured exactly 1.0000 s and a lag of 0 to 2 samples.
      expect(Math.abs(decoded.channels[0]!.length / decoded.sampleRate - 1)).toBeLessThan(0.02);
      decoded.channels.forEach((channel, c) => {
        const atSourceRate = resample(channel, decoded.sampleRate, rate);
        const { correlation, lag } = alignedCorrelation(atSourceRate, sources[c]!.subarray(0, rate), 64);
        expect(correlation).toBeGreaterThan(0.9); // measured 0.93 (AAC 64k stereo) to 0.995
        expect(Math.abs(lag)).toBeLessThanOrEqual(8);
      });
    });
  }
});

describe.skipIf(!HAS_FFMPEG)('ffmpeg fallback (Node)', () => {
  it('decodes a container no bundled decoder reads (Sun .au), exactly', async () => {
    const decoded = await decodeAudio(fixture('pcm_s16be_16k.au'), { fileName: 'pcm_s16be_16k.au' });
    expect(decoded).toMatchObject({ format: 'au', decoder: 'fallback', sampleRate: 16000, sourceChannels: 1 });
    expect(sha256(decoded.channels)).toBe(reference.files['pcm_s16be_16k.au']!.sha256);
  });

  it('decodes a WAV holding MP3 (format tag 0x55), which neither the WAV reader nor a bundled decoder reads', async () => {
    const decoded = await decodeAudio(fixture('mp3_in_wav_16k.wav'), { fileName: 'mp3_in_wav_16k.wav' });
    expect(decoded).toMatchObject({ format: 'wav', decoder: 'fallback', sampleRate: 16000, sourceChannels: 1 });
    const { correlation } = alignedCorrelation(decoded.channels[0]!, speech16k.subarray(0, 16000), 2048);
    expect(correlation).toBeGreaterThan(0.9);
  });

  it('mixes to mono while reading its output', async () => {
    const decoded = await decodeWithFfmpeg(fixture('ext_s24_3ch_8k.wav'), { mono: true });
    expect(decoded?.channels.length).toBe(1);
    expect(decoded?.sourceChannels).toBe(3);
    expect(sha256(decoded!.channels)).toBe(reference.files['ext_s24_3ch_8k.wav']!.monoSha256);
  });

  it('feeds a large input through stdin with backpressure', async () => {
    const bytes = fixture('pcm_s16_stereo_48k.wav');
    const info = decodeWav(bytes).info;
    // Repeat the data 150 times: about 5.8 MB, far beyond a pipe buffer.
    const body = bytes.subarray(info.dataOffset);
    const big = new Uint8Array(info.dataOffset + body.length * 150);
    big.set(bytes.subarray(0, info.dataOffset));
    for (let k = 0; k < 150; k++) big.set(body, info.dataOffset + k * body.length);
    new DataView(big.buffer).setUint32(info.dataOffset - 4, body.length * 150, true);
    const viaFfmpeg = await decodeWithFfmpeg(big);
    expect(sha256(viaFfmpeg!.channels)).toBe(sha256(decodeWav(big).channels));
  });

  it('retries through a temporary file for containers that need seeking (MP4 with its index at the end)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2v-test-'));
    try {
      const path = join(dir, 'late-moov.m4a');
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=f=440:d=30',
        '-c:a',
        'aac',
        path,
      ]);
      const decoded = await decodeWithFfmpeg(read(path));
      expect(decoded?.sampleRate).toBe(44100);
      expect(Math.abs(decoded!.channels[0]!.length / 44100 - 30)).toBeLessThan(0.1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports what ffmpeg said when it cannot decode', async () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) % 251);
    await expect(decodeWithFfmpeg(junk, { fileName: 'junk.bin' })).rejects.toMatchObject({
      code: 'AUDIO_DECODE',
      message: expect.stringMatching(/ffmpeg could not decode junk\.bin: .+/),
    });
  });
});

describe('without a fallback decoder', () => {
  const original = getFallbackDecoder();
  const savedPath = process.env.FFMPEG_PATH;
  afterEach(() => {
    installFallbackDecoder(original);
    if (savedPath === undefined) delete process.env.FFMPEG_PATH;
    else process.env.FFMPEG_PATH = savedPath;
  });

  it('a format only ffmpeg reads is AUDIO_UNSUPPORTED_FORMAT naming the format and the fix', async () => {
    installFallbackDecoder(undefined);
    const error = await decodeAudio(fixture('pcm_s16be_16k.au'), { fileName: 'voice.au' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioInputError);
    expect(error).toMatchObject({ code: 'AUDIO_UNSUPPORTED_FORMAT' });
    expect((error as Error).message).toMatch(
      /"voice\.au".*Sun\/NeXT AU audio.*no bundled decoder.*Convert it to WAV.*install ffmpeg/,
    );
  });

  it('decodeWithFfmpeg returns null when the ffmpeg binary is missing', async () => {
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg-for-test';
    expect(await decodeWithFfmpeg(fixture('pcm_s16be_16k.au'))).toBeNull();
  });

  it('with ffmpeg missing from the machine, the message says so and suggests installing it', async () => {
    process.env.FFMPEG_PATH = '/nonexistent/ffmpeg-for-test';
    await expect(decodeAudio(fixture('pcm_s16be_16k.au'))).rejects.toMatchObject({
      code: 'AUDIO_UNSUPPORTED_FORMAT',
      message: expect.stringMatching(/ffmpeg was not found.*install ffmpeg/),
    });
  });

  it('bundled formats still decode', async () => {
    installFallbackDecoder(undefined);
    expect((await decodeAudio(fixture('mp3_16k.mp3'))).decoder).toBe('bundled');
  });
});
