import '../../src/node.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { MODEL_SAMPLE_RATE } from '../../src/audio/frame-geometry.js';
import { prepareAudio } from '../../src/audio/prepare.js';
import { analyzeQuality } from '../../src/audio/quality.js';
import { resample } from '../../src/audio/resample.js';
import { trimSilence } from '../../src/audio/trim.js';
import { decodeWav } from '../../src/audio/wav.js';
import { decodeNpy } from '../../src/io/npy.js';

const AUDIO = fileURLToPath(new URL('../fixtures/audio/', import.meta.url));
const TINY = fileURLToPath(new URL('../fixtures/tiny/', import.meta.url));
const FORMATS = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('prepareAudio matches the upstream waveform (torchaudio.load + channel mean + Resample)', () => {
  it('speech44k_stereo.wav: 44.1 kHz stereo, within 5e-5 of wave16k.npy (measured ~1.2e-7)', async () => {
    const prepared = await prepareAudio(`${AUDIO}speech44k_stereo.wav`);
    const expected = decodeNpy(read(`${TINY}speech44k_stereo.wave16k.npy`)).data;
    expect(maxAbsDiff(prepared.waveform, expected)).toBeLessThan(5e-5);
    expect(prepared).toMatchObject({ sampleRate: 16000, sourceSampleRate: 44100, sourceChannels: 2, format: 'wav' });
    expect(prepared.durationSeconds).toBeCloseTo(271928 / 44100, 9);
    expect(prepared.trimmed).toBeUndefined();
  });

  for (const id of ['speech16k', 'chirp16k', 'short720']) {
    it(`${id}.wav: 16 kHz mono, identical to wave16k.npy`, async () => {
      const prepared = await prepareAudio(`${AUDIO}${id}.wav`);
      expect(maxAbsDiff(prepared.waveform, decodeNpy(read(`${TINY}${id}.wave16k.npy`)).data)).toBe(0);
      expect(prepared).toMatchObject({ sourceSampleRate: 16000, sourceChannels: 1 });
    });
  }
});

describe('prepareAudio accepts every input shape', () => {
  const path = `${AUDIO}speech44k_stereo.wav`;
  const bytes = read(path);
  let reference: Float32Array;
  beforeAll(async () => {
    reference = (await prepareAudio(path)).waveform;
  });

  it('file path', () => {
    // ceil(16000 * 271928 / 44100): the length of upstream's waveform for this file.
    expect(reference.length).toBe(98659);
  });

  it('Uint8Array, Node Buffer, ArrayBuffer, Blob and File give the same waveform', async () => {
    const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const inputs = [
      bytes,
      readFileSync(path),
      arrayBuffer,
      new Blob([arrayBuffer]),
      new File([arrayBuffer], 'speech.wav'),
    ];
    for (const input of inputs) expect(maxAbsDiff((await prepareAudio(input)).waveform, reference)).toBe(0);
  });

  it('{ channels, sampleRate } at the source rate gives the same waveform', async () => {
    const decoded = decodeWav(bytes);
    const prepared = await prepareAudio({ channels: decoded.channels, sampleRate: decoded.sampleRate });
    expect(maxAbsDiff(prepared.waveform, reference)).toBe(0);
    expect(prepared).toMatchObject({ format: 'pcm', sourceChannels: 2, sourceSampleRate: 44100 });
  });

  it('a Float32Array is taken as 16 kHz mono and not copied', async () => {
    const samples = decodeWav(read(`${AUDIO}speech16k.wav`)).channels[0]!;
    const prepared = await prepareAudio(samples);
    expect(prepared.waveform).toBe(samples);
    expect(prepared).toMatchObject({ format: 'pcm', sourceChannels: 1, sourceSampleRate: 16000 });
    expect(prepared.durationSeconds).toBe(samples.length / 16000);
  });

  it('a one-channel { channels, sampleRate: 16000 } is not copied either', async () => {
    const samples = new Float32Array(16000).map((_, i) => 0.3 * Math.sin(i / 10));
    expect((await prepareAudio({ channels: [samples], sampleRate: 16000 })).waveform).toBe(samples);
  });

  it('compressed files go through the same pipeline (MP3, 44.1 kHz stereo, 1 s)', async () => {
    const prepared = await prepareAudio(`${FORMATS}mp3_44k_stereo.mp3`);
    expect(prepared).toMatchObject({
      format: 'mp3',
      sourceChannels: 2,
      sourceSampleRate: 44100,
      sampleRate: MODEL_SAMPLE_RATE,
    });
    expect(Math.abs(prepared.waveform.length - 16000)).toBeLessThan(1600);
  });

  it('a file that only ffmpeg reads (Sun .au) is prepared in Node', async () => {
    const prepared = await prepareAudio(`${FORMATS}pcm_s16be_16k.au`);
    expect(prepared).toMatchObject({ format: 'au', sourceSampleRate: 16000, sourceChannels: 1 });
    expect(prepared.waveform.length).toBe(8000);
  });
});

describe('prepareAudio pipeline order', () => {
  it('the quality report is computed on the mono mix at the source rate', async () => {
    const decoded = decodeWav(read(`${AUDIO}speech44k_stereo.wav`), { mono: true });
    const prepared = await prepareAudio(`${AUDIO}speech44k_stereo.wav`);
    expect(prepared.quality).toEqual(analyzeQuality(decoded.channels[0]!, 44100));
    expect(prepared.quality.sampleRate).toBe(44100);
  });

  it('trimSilence cuts the 16 kHz waveform (librosa on the model input) and reports the range', async () => {
    const silence = new Float32Array(16000);
    const speech = decodeWav(read(`${AUDIO}speech16k.wav`)).channels[0]!;
    const padded = new Float32Array(silence.length * 2 + speech.length);
    padded.set(speech, silence.length);
    const channels = [resample(padded, 16000, 32000)]; // at another rate, to check trimming happens after resampling
    const prepared = await prepareAudio({ channels, sampleRate: 32000 }, { trimSilence: true });
    const untrimmed = resample(channels[0]!, 32000, 16000);
    const expected = trimSilence(untrimmed);
    expect(prepared.trimmed).toEqual({ start: expected.start, end: expected.end });
    expect(prepared.waveform.length).toBe(expected.end - expected.start);
    expect(prepared.waveform.length).toBeLessThan(untrimmed.length - 16000);
    expect(prepared.durationSeconds).toBeCloseTo(padded.length / 16000, 9);
  });

  it('strict mode refuses audio with quality warnings, and lets good audio through', async () => {
    await expect(prepareAudio(`${AUDIO}short720.wav`, { strict: true })).rejects.toMatchObject({
      code: 'AUDIO_QUALITY',
    });
    await expect(prepareAudio(`${AUDIO}speech16k.wav`, { strict: true })).resolves.toMatchObject({ sampleRate: 16000 });
    // Not strict: the warning is only reported.
    expect((await prepareAudio(`${AUDIO}short720.wav`)).quality.warnings.map((w) => w.code)).toContain('TOO_SHORT');
  });

  it('ignores option keys it does not know (predict options are spread into it)', async () => {
    const options = { trimSilence: false, batchSize: 4, granularity: 'utterance' } as Parameters<
      typeof prepareAudio
    >[1];
    expect((await prepareAudio(`${AUDIO}short720.wav`, options)).waveform.length).toBe(720);
  });
});
