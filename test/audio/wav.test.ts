import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mixToMono } from '../../src/audio/decode.js';
import {
  decodeWav,
  encodeFloatWav,
  floatWavParts,
  isWav,
  MAX_WAV_CHANNELS,
  pcm16WavParts,
  readWavInfo,
} from '../../src/audio/wav.js';
import { AudioInputError } from '../../src/errors.js';
import { HAS_FFMPEG, sha256 } from '../support/audio.js';

const FORMATS = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const reference = JSON.parse(readFileSync(`${FORMATS}reference.json`, 'utf8')) as {
  files: Record<string, { sampleRate: number; channels: number; frames: number; sha256: string; monoSha256: string }>;
};

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(FORMATS + name));
}

// ---- A small WAV writer, to build exactly the headers each test needs. ----

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}
function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}
function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
/** A chunk with its (possibly lying) size field and the pad byte of odd-length bodies. */
function chunk(id: string, body: ArrayLike<number>, declared = body.length): number[] {
  const out = [...ascii(id), ...u32(declared), ...Array.from(body)];
  if (body.length % 2 === 1) out.push(0);
  return out;
}

interface WavSpec {
  tag?: number;
  channels?: number;
  sampleRate?: number;
  bits?: number;
  blockAlign?: number;
  data: ArrayLike<number>;
  dataSize?: number;
  riffSize?: number;
  extensible?: { subformat: number; guidSuffix?: number[]; validBits?: number };
  container?: 'RIFF' | 'RF64';
  /** Chunks before 'fmt '. */
  before?: number[];
  /** Chunks between 'fmt ' and 'data'. */
  between?: number[];
  fmtAfterData?: boolean;
  /** Drop the pad byte of an odd-length data chunk (as a truncated file would). */
  noDataPad?: boolean;
}

const GUID_SUFFIX = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

function wav(spec: WavSpec): Uint8Array {
  const channels = spec.channels ?? 1;
  const bits = spec.bits ?? 16;
  const sampleRate = spec.sampleRate ?? 16000;
  const blockAlign = spec.blockAlign ?? channels * (bits / 8);
  let fmtBody = [
    ...u16(spec.extensible ? 0xfffe : (spec.tag ?? 1)),
    ...u16(channels),
    ...u32(sampleRate),
    ...u32(sampleRate * blockAlign),
    ...u16(blockAlign),
    ...u16(bits),
  ];
  if (spec.extensible) {
    fmtBody = [
      ...fmtBody,
      ...u16(22),
      ...u16(spec.extensible.validBits ?? bits),
      ...u32(0),
      ...u16(spec.extensible.subformat),
      ...(spec.extensible.guidSuffix ?? GUID_SUFFIX),
    ];
  }
  const fmt = chunk('fmt ', fmtBody);
  let dataChunk = chunk('data', spec.data, spec.dataSize ?? spec.data.length);
  if (spec.noDataPad && spec.data.length % 2 === 1) dataChunk = dataChunk.slice(0, -1);
  const ds64 =
    spec.container === 'RF64'
      ? chunk('ds64', [...u32(0), ...u32(0), ...u32(spec.data.length), ...u32(0), ...u32(0), ...u32(0), ...u32(0)])
      : [];
  const body = [
    ...ascii('WAVE'),
    ...ds64,
    ...(spec.before ?? []),
    ...(spec.fmtAfterData ? [] : fmt),
    ...(spec.between ?? []),
    ...dataChunk,
    ...(spec.fmtAfterData ? fmt : []),
  ];
  const riffSize = spec.riffSize ?? (spec.container === 'RF64' ? 0xffffffff : body.length);
  return new Uint8Array([...ascii(spec.container ?? 'RIFF'), ...u32(riffSize), ...body]);
}

function pcm(bits: 8 | 16 | 24 | 32, values: readonly number[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    if (bits === 8) out.push(v & 0xff);
    else if (bits === 16) out.push(...u16(v));
    else if (bits === 24) out.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff);
    else out.push(...u32(v));
  }
  return out;
}
function floats(bits: 32 | 64, values: readonly number[]): number[] {
  const bytes = new Uint8Array(values.length * (bits / 8));
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => (bits === 32 ? view.setFloat32(i * 4, v, true) : view.setFloat64(i * 8, v, true)));
  return Array.from(bytes);
}

function expectError(fn: () => unknown, code: string, pattern?: RegExp): AudioInputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AudioInputError);
    expect((error as AudioInputError).code).toBe(code);
    if (pattern) expect((error as Error).message).toMatch(pattern);
    return error as AudioInputError;
  }
  throw new Error(`expected ${code}, nothing was thrown`);
}

describe('decodeWav on the fixture files: bit-identical to torchaudio.load', () => {
  const wavs = Object.keys(reference.files).filter((name) => name.endsWith('.wav') && !name.startsWith('mulaw'));

  it('covers every sample format', () => {
    expect(wavs.length).toBe(9);
  });

  for (const name of wavs) {
    it(name, () => {
      const ref = reference.files[name]!;
      const bytes = fixture(name);
      const decoded = decodeWav(bytes);
      expect(decoded.sampleRate).toBe(ref.sampleRate);
      expect(decoded.channels.length).toBe(ref.channels);
      expect(decoded.sourceChannels).toBe(ref.channels);
      for (const channel of decoded.channels) expect(channel.length).toBe(ref.frames);
      expect(sha256(decoded.channels)).toBe(ref.sha256);
      expect(decoded.info.extensible).toBe(name.startsWith('ext_'));

      // The mono mix made while decoding equals torch.mean(dim=0) bit for bit, and mixToMono of the channels.
      const mono = decodeWav(bytes, { mono: true });
      expect(mono.channels.length).toBe(1);
      expect(mono.sourceChannels).toBe(ref.channels);
      expect(sha256(mono.channels)).toBe(ref.monoSha256);
      expect(sha256([mixToMono(decoded.channels)])).toBe(ref.monoSha256);
    });
  }

  it('refuses a mu-law WAV as an unsupported codec (decodeAudio reads it with another decoder)', () => {
    expectError(() => decodeWav(fixture('mulaw_8k.wav')), 'AUDIO_UNSUPPORTED_FORMAT', /mu-law/);
  });

  it.skipIf(!HAS_FFMPEG)('reads the streaming WAV ffmpeg writes to a pipe (sizes 0xFFFFFFFF)', () => {
    const piped = new Uint8Array(
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-i',
        `${FORMATS}pcm_s16_stereo_48k.wav`,
        '-c:a',
        'pcm_f32le',
        '-f',
        'wav',
        'pipe:1',
      ]),
    );
    const view = new DataView(piped.buffer, piped.byteOffset);
    expect(view.getUint32(4, true)).toBe(0xffffffff);
    const fromPipe = decodeWav(piped);
    const original = decodeWav(fixture('pcm_s16_stereo_48k.wav'));
    expect(fromPipe.info.encoding).toBe('float');
    expect(sha256(fromPipe.channels)).toBe(sha256(original.channels));
  });
});

describe('decodeWav sample scaling (torchaudio rules)', () => {
  it('unsigned 8-bit: (x - 128) / 128', () => {
    const d = decodeWav(wav({ bits: 8, data: pcm(8, [0, 64, 128, 255]) }));
    expect(Array.from(d.channels[0]!)).toEqual([-1, -0.5, 0, 127 / 128]);
  });

  it('16-bit: x / 32768', () => {
    const d = decodeWav(wav({ bits: 16, data: pcm(16, [-32768, -1, 0, 32767]) }));
    expect(Array.from(d.channels[0]!)).toEqual([-1, -1 / 32768, 0, 32767 / 32768]);
  });

  it('24-bit: x / 2^23, sign-extended', () => {
    const d = decodeWav(wav({ bits: 24, data: pcm(24, [-8388608, -1, 1, 8388607]) }));
    expect(Array.from(d.channels[0]!)).toEqual([-1, -1 / 8388608, 1 / 8388608, 8388607 / 8388608]);
  });

  it('32-bit: x / 2^31 rounded to float32', () => {
    const d = decodeWav(wav({ bits: 32, data: pcm(32, [-2147483648, 1, 2147483647, 123456789]) }));
    expect(Array.from(d.channels[0]!)).toEqual([-1, 2 ** -31, 1, Math.fround(123456789 / 2 ** 31)]);
  });

  it('float32 as stored, out-of-range values kept', () => {
    const d = decodeWav(wav({ tag: 3, bits: 32, data: floats(32, [0.5, -0.25, 1.5, 1e-10]) }));
    expect(Array.from(d.channels[0]!)).toEqual([0.5, -0.25, 1.5, Math.fround(1e-10)]);
  });

  it("float64 through sox's 32-bit sample (torchaudio 0.13 sox_io), within 3e-8 of a float32 cast", () => {
    const values = [0.1, -0.3, 1e-9, 0.99999999, 2, -2];
    const d = decodeWav(wav({ tag: 3, bits: 64, data: floats(64, values) }));
    const got = Array.from(d.channels[0]!);
    // 0.1 * 2^31 = 214748364.8 -> 214748365 -> nearest multiple of 128 -> 214748416 -> / 2^31
    expect(got[0]).toBe(214748416 / 2 ** 31);
    expect(got[2]).toBe(0);
    expect(got[3]).toBe(1); // within 64 steps of full scale
    expect(got[4]).toBe(1); // clipped like sox
    expect(got[5]).toBe(-1);
    for (const i of [0, 1, 2, 3]) expect(Math.abs(got[i]! - Math.fround(values[i]!))).toBeLessThan(3e-8);
  });

  it('WAVE_FORMAT_EXTENSIBLE with PCM and float sub-formats', () => {
    const p = decodeWav(
      wav({ bits: 24, channels: 2, data: pcm(24, [8388607, -8388608]), extensible: { subformat: 1 } }),
    );
    expect(p.info.extensible).toBe(true);
    expect(p.channels.map((c) => c[0])).toEqual([8388607 / 8388608, -1]);
    const f = decodeWav(wav({ bits: 32, data: floats(32, [0.125]), extensible: { subformat: 3 } }));
    expect(f.info.encoding).toBe('float');
    expect(f.channels[0]![0]).toBe(0.125);
    // 20 valid bits in a 24-bit container are left-justified: scaled by the container, like ffmpeg/sox.
    const v = decodeWav(wav({ bits: 24, data: pcm(24, [0x12345 << 4]), extensible: { subformat: 1, validBits: 20 } }));
    expect(v.channels[0]![0]).toBe((0x12345 << 4) / 8388608);
  });

  it('mixes to mono in float32, channel by channel (torch.mean order)', () => {
    // float32: (1 + 2^-24) rounds to 1, so the float32 sum is 1, while the exact sum is 1 + 2^-23.
    const tiny = 2 ** -24;
    const bytes = wav({ tag: 3, bits: 32, channels: 3, data: floats(32, [1, tiny, tiny, 0.25, 0.5, -0.5]) });
    const mono = decodeWav(bytes, { mono: true }).channels[0]!;
    expect(mono[0]).toBe(Math.fround(1 / 3));
    expect(mono[1]).toBe(Math.fround(0.25 / 3));
    const all = decodeWav(bytes);
    expect(all.channels.length).toBe(3);
    expect(Array.from(mixToMono(all.channels))).toEqual(Array.from(mono));
  });

  it('de-interleaves stereo 16-bit', () => {
    const d = decodeWav(wav({ channels: 2, data: pcm(16, [1, -1, 2, -2, 3, -3]) }));
    expect(d.channels.map((c) => Array.from(c, (x) => x * 32768))).toEqual([
      [1, 2, 3],
      [-1, -2, -3],
    ]);
    expect(
      Array.from(
        decodeWav(wav({ channels: 2, data: pcm(16, [1, -1, 2, 4]) }), { mono: true }).channels[0]!,
        (x) => x * 32768,
      ),
    ).toEqual([0, 3]);
  });
});

describe('decodeWav container handling', () => {
  const samples = pcm(16, [100, 200, 300]);

  it('skips odd-length chunks and their pad byte', () => {
    const d = decodeWav(wav({ data: samples, before: chunk('LIST', [1, 2, 3]), between: chunk('junk', [9]) }));
    expect(Array.from(d.channels[0]!, (x) => x * 32768)).toEqual([100, 200, 300]);
  });

  it("finds a 'fmt ' chunk placed after the data", () => {
    const d = decodeWav(wav({ data: samples, fmtAfterData: true }));
    expect(d.channels[0]!.length).toBe(3);
  });

  it('reads an odd-length 8-bit data chunk whose pad byte is missing', () => {
    const d = decodeWav(wav({ bits: 8, data: pcm(8, [128, 192, 64]), noDataPad: true }));
    expect(Array.from(d.channels[0]!)).toEqual([0, 0.5, -0.5]);
  });

  it('takes a data size of 0xFFFFFFFF as "to the end of the file"', () => {
    const d = decodeWav(wav({ data: samples, dataSize: 0xffffffff, riffSize: 0xffffffff }));
    expect(d.channels[0]!.length).toBe(3);
  });

  it('takes data size 0 with RIFF size 0 as an unfinished streaming header', () => {
    const d = decodeWav(wav({ data: samples, dataSize: 0, riffSize: 0 }));
    expect(d.channels[0]!.length).toBe(3);
  });

  it('ignores a trailing partial frame', () => {
    const d = decodeWav(wav({ channels: 2, data: [...pcm(16, [1, 2, 3]), 0] }));
    expect(d.channels[0]!.length).toBe(1);
  });

  it('reads RF64 with its ds64 chunk', () => {
    const d = decodeWav(wav({ container: 'RF64', data: samples, dataSize: 0xffffffff }));
    expect(d.info.container).toBe('RF64');
    expect(d.channels[0]!.length).toBe(3);
  });

  it('reads big-endian RIFX (as sox writes with -B): 16/24-bit PCM and float', () => {
    const rifx = (
      tag: number,
      bits: number,
      write: (view: DataView, at: number) => void,
      frames: number,
    ): Uint8Array => {
      const dataBytes = frames * (bits / 8);
      const bytes = new Uint8Array(44 + dataBytes);
      const view = new DataView(bytes.buffer);
      ascii('RIFX').forEach((c, i) => view.setUint8(i, c));
      view.setUint32(4, 36 + dataBytes);
      ascii('WAVEfmt ').forEach((c, i) => view.setUint8(8 + i, c));
      view.setUint32(16, 16);
      view.setUint16(20, tag);
      view.setUint16(22, 1);
      view.setUint32(24, 16000);
      view.setUint32(28, 16000 * (bits / 8));
      view.setUint16(32, bits / 8);
      view.setUint16(34, bits);
      ascii('data').forEach((c, i) => view.setUint8(36 + i, c));
      view.setUint32(40, dataBytes);
      write(view, 44);
      return bytes;
    };
    const s16 = decodeWav(rifx(1, 16, (v, at) => [8, -300, 32767].forEach((x, i) => v.setInt16(at + 2 * i, x)), 3));
    expect(s16.info).toMatchObject({ container: 'RIFX', littleEndian: false });
    expect(Array.from(s16.channels[0]!, (x) => x * 32768)).toEqual([8, -300, 32767]);
    const s24 = decodeWav(
      rifx(
        1,
        24,
        (v, at) =>
          [0x123456, 0xfffffe].forEach((x, i) =>
            [x >> 16, (x >> 8) & 0xff, x & 0xff].forEach((b, j) => v.setUint8(at + 3 * i + j, b)),
          ),
        2,
      ),
    );
    expect(Array.from(s24.channels[0]!, (x) => x * 8388608)).toEqual([0x123456, -2]);
    const f32 = decodeWav(rifx(3, 32, (v, at) => [0.5, -0.125].forEach((x, i) => v.setFloat32(at + 4 * i, x)), 2));
    expect(Array.from(f32.channels[0]!)).toEqual([0.5, -0.125]);
  });

  it('isWav and readWavInfo', () => {
    const bytes = wav({ channels: 2, sampleRate: 22050, data: pcm(16, [1, 2, 3, 4]) });
    expect(isWav(bytes)).toBe(true);
    expect(isWav(new Uint8Array(8))).toBe(false);
    expect(readWavInfo(bytes)).toMatchObject({
      channels: 2,
      sampleRate: 22050,
      frames: 2,
      bitsPerSample: 16,
      encoding: 'pcm',
      dataOffset: 44,
    });
  });

  it('decodes from a Uint8Array that is a view into a larger buffer at an odd offset', () => {
    const bytes = wav({ data: samples });
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(Array.from(decodeWav(big.subarray(3)).channels[0]!, (x) => x * 32768)).toEqual([100, 200, 300]);
  });
});

describe('decodeWav rejects malformed headers with typed errors', () => {
  const samples = pcm(16, [1, 2, 3, 4]);

  it('a data size larger than the file: AUDIO_DECODE saying truncated, with both sizes', () => {
    const error = expectError(
      () => decodeWav(wav({ data: samples, dataSize: 1000 })),
      'AUDIO_DECODE',
      /truncated.*1000 bytes.*only 8/,
    );
    expect(error.details).toMatchObject({ declaredBytes: 1000, presentBytes: 8 });
  });

  it('a huge declared data size (2^31): AUDIO_DECODE, not an allocation', () => {
    expectError(() => decodeWav(wav({ data: samples, dataSize: 0x80000000 })), 'AUDIO_DECODE', /truncated/);
  });

  it('an empty data chunk with a finished header: AUDIO_EMPTY', () => {
    expectError(() => decodeWav(wav({ data: [] })), 'AUDIO_EMPTY', /no audio/);
  });

  it('0 channels, 65535 channels (the u16 maximum), 300 channels: AUDIO_DECODE naming the count', () => {
    expectError(
      () => decodeWav(wav({ channels: 0, blockAlign: 2, data: samples })),
      'AUDIO_DECODE',
      /claims 0 channels/,
    );
    expectError(
      () => decodeWav(wav({ channels: 65535, blockAlign: 2, data: samples })),
      'AUDIO_DECODE',
      /claims 65535 channels/,
    );
    expectError(
      () => decodeWav(wav({ channels: MAX_WAV_CHANNELS + 44, blockAlign: 2, data: samples })),
      'AUDIO_DECODE',
      /claims 300 channels/,
    );
  });

  it('a sample rate of 0 Hz or 4294967295 Hz: AUDIO_SAMPLE_RATE', () => {
    expectError(() => decodeWav(wav({ sampleRate: 0, data: samples })), 'AUDIO_SAMPLE_RATE', /0 Hz/);
    expectError(() => decodeWav(wav({ sampleRate: 0xffffffff, data: samples })), 'AUDIO_SAMPLE_RATE', /4294967295 Hz/);
  });

  it('a block align that does not match channels × bytes: AUDIO_DECODE', () => {
    expectError(
      () => decodeWav(wav({ channels: 2, blockAlign: 3, data: samples })),
      'AUDIO_DECODE',
      /block align is 3.*need 4/,
    );
  });

  it('a header that contradicts itself is AUDIO_DECODE (never handed to a fallback decoder to guess)', () => {
    // 7 bits over 16-bit blocks: ffmpeg would read it as 8-bit samples, twice as many.
    expectError(() => decodeWav(wav({ bits: 7, blockAlign: 2, data: samples })), 'AUDIO_DECODE', /7-bit PCM/);
    expectError(
      () => decodeWav(wav({ bits: 12, blockAlign: 1, data: samples })),
      'AUDIO_DECODE',
      /block align is 1.*need 2/,
    );
    expectError(() => decodeWav(wav({ bits: 7, blockAlign: 1, data: samples })), 'AUDIO_DECODE', /7-bit PCM/);
    expectError(() => decodeWav(wav({ bits: 0, blockAlign: 0, data: samples })), 'AUDIO_DECODE', /0-bit PCM/);
  });

  it('unsupported sample widths and codecs: AUDIO_UNSUPPORTED_FORMAT', () => {
    expectError(
      () => decodeWav(wav({ bits: 12, blockAlign: 2, data: samples })),
      'AUDIO_UNSUPPORTED_FORMAT',
      /12-bit integer/,
    );
    expectError(() => decodeWav(wav({ tag: 3, bits: 16, data: samples })), 'AUDIO_UNSUPPORTED_FORMAT', /16-bit float/);
    expectError(
      () => decodeWav(wav({ tag: 2, bits: 4, blockAlign: 2, data: samples })),
      'AUDIO_UNSUPPORTED_FORMAT',
      /Microsoft ADPCM/,
    );
    expectError(
      () => decodeWav(wav({ data: samples, extensible: { subformat: 1, guidSuffix: GUID_SUFFIX.map((b) => b ^ 1) } })),
      'AUDIO_UNSUPPORTED_FORMAT',
      /sub-format/,
    );
  });

  it('missing or broken chunks: AUDIO_DECODE', () => {
    const noData = new Uint8Array([
      ...ascii('RIFF'),
      ...u32(28),
      ...ascii('WAVE'),
      ...chunk('fmt ', [...u16(1), ...u16(1), ...u32(16000), ...u32(32000), ...u16(2), ...u16(16)]),
    ]);
    expectError(() => decodeWav(noData), 'AUDIO_DECODE', /no 'data' chunk/);
    const noFmt = new Uint8Array([...ascii('RIFF'), ...u32(20), ...ascii('WAVE'), ...chunk('data', samples)]);
    expectError(() => decodeWav(noFmt), 'AUDIO_DECODE', /no 'fmt ' chunk/);
    const shortFmt = new Uint8Array([
      ...ascii('RIFF'),
      ...u32(30),
      ...ascii('WAVE'),
      ...chunk('fmt ', [1, 0, 1, 0]),
      ...chunk('data', samples),
    ]);
    expectError(() => decodeWav(shortFmt), 'AUDIO_DECODE', /only 4 bytes/);
    const hugeList = new Uint8Array([
      ...ascii('RIFF'),
      ...u32(30),
      ...ascii('WAVE'),
      ...ascii('LIST'),
      ...u32(0x7fffffff),
      1,
      2,
    ]);
    expectError(() => decodeWav(hugeList), 'AUDIO_DECODE', /'LIST' chunk.*past the end/);
    expectError(() => decodeWav(new TextEncoder().encode('not a wav file at all')), 'AUDIO_DECODE', /RIFF\/WAVE/);
  });
});

describe('processed_audio.wav encoding', () => {
  it('writes the same bytes wavefile writes (float32 mono), header and samples', async () => {
    const { default: wavefile } = await import('wavefile');
    const samples = new Float32Array([0, 0.5, -0.25, 1, -1, 3.4e38, -1e-30, 0.123456789]);
    for (const [values, rate] of [
      [samples, 16_000],
      [samples.subarray(3, 6), 44_100],
      [new Float32Array(0), 16_000],
    ] as const) {
      const reference = new wavefile.WaveFile();
      reference.fromScratch(1, rate, '32f', values);
      expect(Buffer.from(encodeFloatWav(values, rate)).equals(Buffer.from(reference.toBuffer()))).toBe(true);
    }
  });

  it('writes the same bytes wavefile writes for 16-bit PCM (mono), the samples scaled by 32768 and clipped', async () => {
    const { default: wavefile } = await import('wavefile');
    const samples = new Float32Array([0, 0.5, -0.25, 1, -1, 1.7, -3, 0.123456789, 1 / 65536]);
    const ints = [0, 16384, -8192, 32767, -32768, 32767, -32768, 4045, 1];
    const reference = new wavefile.WaveFile();
    reference.fromScratch(1, 16_000, '16', ints);
    const [header, data] = pcm16WavParts(samples, 16_000);
    expect(Buffer.concat([header, data]).equals(Buffer.from(reference.toBuffer()))).toBe(true);
    const read = decodeWav(Buffer.concat([header, data])).channels[0]!;
    expect(Array.from(read)).toEqual(ints.map((v) => v / 32768));
  });

  it('hands out the samples as a view, not a copy', () => {
    const samples = new Float32Array(16_000).map((_, i) => Math.sin(i / 10));
    const [header, data] = floatWavParts(samples, 16_000);
    expect(header.length).toBe(44);
    expect(data.buffer).toBe(samples.buffer);
    expect(data.byteLength).toBe(samples.byteLength);
  });
});
