import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resample, resampledLength, sincResampleKernel } from '../../src/audio/resample.js';
import { AudioInputError } from '../../src/errors.js';
import { decodeNpy } from '../../src/io/npy.js';
import { fixturePath, maxAbsDiff } from '../support/fixtures.js';

/** Minimal reader for the fixture WAVs (PCM 16-bit, little-endian), scaled like torchaudio.load: x / 32768. */
function readPcm16Wav(path: string): { channels: Float32Array[]; sampleRate: number } {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 12;
  let channelCount = 0;
  let sampleRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      expect(view.getUint16(body, true)).toBe(1);
      expect(view.getUint16(body + 14, true)).toBe(16);
      channelCount = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
    } else if (id === 'data') {
      const frames = size / (2 * channelCount);
      const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
      for (let i = 0; i < frames; i++) {
        for (let c = 0; c < channelCount; c++)
          channels[c]![i] = view.getInt16(body + 2 * (i * channelCount + c), true) / 32768;
      }
      return { channels, sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`no data chunk in ${path}`);
}

function npy(...parts: string[]): Float32Array {
  return decodeNpy(readFileSync(fixturePath(...parts))).data;
}

describe('resample', () => {
  it('matches the upstream pipeline on speech44k_stereo.wav (torchaudio.load, channel mean, Resample(44100, 16000))', () => {
    const { channels, sampleRate } = readPcm16Wav(fixturePath('audio', 'speech44k_stereo.wav'));
    expect(sampleRate).toBe(44100);
    expect(channels).toHaveLength(2);
    const [left, right] = channels as [Float32Array, Float32Array];
    const mono = new Float32Array(left.length);
    for (let i = 0; i < mono.length; i++) mono[i] = Math.fround(left[i]! + right[i]!) / 2; // torch's float32 mean
    const expected = npy('tiny', 'speech44k_stereo.wave16k.npy');
    const actual = resample(mono, 44100, 16000);
    expect(actual.length).toBe(expected.length);
    expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(5e-7);
  });

  const pairs: Array<[number, number]> = [
    [8000, 16000],
    [11025, 16000],
    [22050, 16000],
    [32000, 16000],
    [48000, 16000],
    [16000, 8000],
    [16000, 44100],
  ];
  it.each(pairs)('matches torchaudio Resample(%i, %i) on a chirp with noise', (from, to) => {
    const input = npy('resample', `input_${from}.npy`);
    const expected = npy('resample', `output_${from}_${to}.npy`);
    const actual = resample(input, from, to);
    expect(actual.length).toBe(expected.length);
    expect(maxAbsDiff(actual, expected)).toBeLessThanOrEqual(5e-7);
  });

  it('matches torchaudio on very short inputs, lengths included', () => {
    const { cases } = JSON.parse(readFileSync(fixturePath('resample', 'short_cases.json'), 'utf8')) as {
      cases: Array<{ from: number; to: number; input: number[]; output: number[] }>;
    };
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) {
      const actual = resample(Float32Array.from(c.input), c.from, c.to);
      expect(actual.length, `${c.from}->${c.to}, ${c.input.length} samples`).toBe(c.output.length);
      expect(resampledLength(c.input.length, c.from, c.to)).toBe(c.output.length);
      expect(maxAbsDiff(actual, c.output)).toBeLessThanOrEqual(5e-7);
    }
  });

  it('gives torchaudio output lengths: ceil(to * n / from) after gcd reduction', () => {
    expect(resample(new Float32Array(1), 44100, 16000).length).toBe(1);
    expect(resample(new Float32Array(3), 16000, 44100).length).toBe(9); // ceil(441 * 3 / 160)
    expect(resample(new Float32Array(44101), 44100, 16000).length).toBe(16001);
    expect(resample(new Float32Array(0), 48000, 16000).length).toBe(0);
    expect(resampledLength(44100 * 3600, 44100, 16000)).toBe(16000 * 3600);
  });

  it('returns the input itself when the rates are equal', () => {
    const x = new Float32Array([0.1, -0.2, 0.3]);
    expect(resample(x, 16000, 16000)).toBe(x);
  });

  it.each([
    [0, 16000, '0'],
    [44100, -1, '-1'],
    [22050.5, 16000, '22050.5'],
    [Number.NaN, 16000, 'NaN'],
    [16000, Number.POSITIVE_INFINITY, 'Infinity'],
  ])('rejects the rates %s -> %s with AUDIO_SAMPLE_RATE naming the value', (from, to, named) => {
    const error = (() => {
      try {
        resample(new Float32Array(10), from, to);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(AudioInputError);
    expect((error as AudioInputError).code).toBe('AUDIO_SAMPLE_RATE');
    expect((error as AudioInputError).message).toContain(`got ${named}`);
  });

  it.each([
    [8000, 16000],
    [48000, 16000],
    [16000, 8000],
    [44100, 16000],
    [16000, 44100],
  ])('builds the Resample(%i, %i) kernel tap for tap as torchaudio does', (from, to) => {
    const reference = decodeNpy(readFileSync(fixturePath('resample', `kernel_${from}_${to}.npy`)));
    const [rowCount, rowLength] = reference.shape as [number, number];
    const kernel = sincResampleKernel(from, to);
    expect(2 * kernel.width + kernel.fromStep).toBe(rowLength);
    const n = kernel.toStep;
    const phases = [...new Set([0, 1, Math.floor(n / 2), n - 1])].filter((j) => j < n).sort((a, b) => a - b);
    expect(phases).toHaveLength(rowCount);
    phases.forEach((j, r) => {
      const row = new Float32Array(rowLength); // torchaudio's full row: the dropped taps are zeros
      for (let c = 0; c < kernel.lengths[j]!; c++) row[kernel.offsets[j]! + c] = kernel.taps[kernel.starts[j]! + c]!;
      expect(maxAbsDiff(row, reference.data.subarray(r * rowLength, (r + 1) * rowLength)), `phase ${j}`).toBe(0);
    });
  });

  it('keeps only the non-zero taps of each phase (44.1 kHz -> 16 kHz: about 34 of 475)', () => {
    const kernel = sincResampleKernel(44100, 16000);
    expect(kernel.fromStep).toBe(441);
    expect(kernel.toStep).toBe(160);
    expect(kernel.width).toBe(17);
    const maxTaps = Math.max(...kernel.lengths);
    expect(maxTaps).toBeLessThanOrEqual(36);
    // Each phase is a low-pass filter with gain 1 at DC: its taps sum to about 1.
    for (let j = 0; j < kernel.toStep; j++) {
      let sum = 0;
      for (let c = 0; c < kernel.lengths[j]!; c++) sum += kernel.taps[kernel.starts[j]! + c]!;
      expect(Math.abs(sum - 1)).toBeLessThan(0.02);
    }
  });

  it('a minute of a 70 Hz tone at 44.1 kHz comes out as the same tone at 16 kHz (speed is in bench/audio-memory.ts)', () => {
    const step = 0.01; // radians per input sample: 70 Hz at 44.1 kHz, deep in the pass band
    const x = new Float32Array(44100 * 60);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * step);
    const y = resample(x, 44100, 16000);
    expect(y.length).toBe(16000 * 60);
    let worst = 0;
    // Away from the zero-padded edges, output n sits at input time n * 44100 / 16000.
    for (let n = 100; n < y.length - 100; n++)
      worst = Math.max(worst, Math.abs(y[n]! - Math.sin((n * 44100 * step) / 16000)));
    expect(worst).toBeLessThan(1e-3); // 4.6e-4 measured: the windowed sinc's pass-band ripple; one sample of phase error gives 1e-2
  });
});
