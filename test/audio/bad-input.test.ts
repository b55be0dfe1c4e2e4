/**
 * A corpus of bad audio input: each case must end in a typed AudioInputError with a useful message (or, where
 * decided so, succeed), never a raw library exception or a crash. The bytes are built here; no files needed.
 */
import '../../src/node.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeAudio } from '../../src/audio/decode.js';
import { prepareAudio, type AudioInput } from '../../src/audio/prepare.js';
import { AudioInputError, type ErrorCode } from '../../src/errors.js';
import { getFallbackDecoder, installFallbackDecoder } from '../../src/audio/fallback-decoder.js';
import { getPlatform, installPlatform } from '../../src/platform.js';
import { HAS_FFMPEG } from '../support/audio.js';

const FORMATS = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'e2v-bad-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes bytes to a temporary file, so the path and file-name handling is exercised too. */
function file(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function expectAudioError(input: AudioInput, code: ErrorCode, pattern?: RegExp): Promise<AudioInputError> {
  const error = await prepareAudio(input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(AudioInputError);
  expect((error as AudioInputError).code).toBe(code);
  if (pattern) expect((error as Error).message).toMatch(pattern);
  return error as AudioInputError;
}

/** A 16-bit PCM WAV with header fields to lie with. */
function wav(
  options: {
    samples?: number[];
    channels?: number;
    sampleRate?: number;
    dataSize?: number;
    bits?: number;
    tag?: number;
  } = {},
): Uint8Array {
  const samples = options.samples ?? [];
  const channels = options.channels ?? 1;
  const sampleRate = options.sampleRate ?? 16000;
  const bits = options.bits ?? 16;
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string): void => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, options.tag ?? 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, (sampleRate * channels * bits) / 8, true);
  view.setUint16(32, (channels * bits) / 8, true);
  view.setUint16(34, bits, true);
  text(36, 'data');
  view.setUint32(40, options.dataSize ?? samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, s, true));
  return bytes;
}

/** Deterministic noise bytes (a fixed LCG), so the test never flakes. */
function noise(length: number): Uint8Array {
  let state = 12345;
  return new Uint8Array(length).map(() => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  });
}

const tone = (n: number, rate = 16000): number[] =>
  Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)));

describe('bad files', () => {
  it('empty file: AUDIO_EMPTY naming the file', async () => {
    await expectAudioError(file('empty.wav', new Uint8Array(0)), 'AUDIO_EMPTY', /empty\.wav.*empty \(0 bytes\)/);
    await expectAudioError(new Uint8Array(0), 'AUDIO_EMPTY');
  });

  it('44-byte WAV header with no data: AUDIO_EMPTY', async () => {
    const bytes = wav();
    expect(bytes.length).toBe(44);
    await expectAudioError(file('header-only.wav', bytes), 'AUDIO_EMPTY', /holds no audio/);
  });

  it('truncated WAV (header declares more than is there): AUDIO_DECODE with both sizes', async () => {
    const bytes = wav({ samples: tone(500), dataSize: 32000 });
    await expectAudioError(
      file('truncated.wav', bytes),
      'AUDIO_DECODE',
      /truncated\.wav.*truncated: the header declares 32000 bytes of audio but only 1000 are present/,
    );
  });

  it('huge declared data size (0xFFFFFFFE): AUDIO_DECODE, nothing allocated', async () => {
    await expectAudioError(
      wav({ samples: tone(100), dataSize: 0xfffffffe }),
      'AUDIO_DECODE',
      /truncated.*4294967294 bytes/,
    );
  });

  it('WAV claiming 0 Hz: AUDIO_SAMPLE_RATE', async () => {
    await expectAudioError(wav({ samples: tone(100), sampleRate: 0 }), 'AUDIO_SAMPLE_RATE', /0 Hz/);
  });

  it('WAV claiming 65535 channels (the u16 maximum): AUDIO_DECODE naming the count', async () => {
    const bytes = wav({ samples: tone(100) });
    new DataView(bytes.buffer).setUint16(22, 65535, true);
    await expectAudioError(bytes, 'AUDIO_DECODE', /claims 65535 channels/);
  });

  it('float WAV holding NaN: AUDIO_NOT_FINITE with the sample index', async () => {
    const bytes = wav({ samples: [0, 0, 0, 0], bits: 32, tag: 3 }).slice(0, 44);
    const body = new Float32Array([0.1, 0.2, Number.NaN, 0.3]);
    const full = new Uint8Array(44 + 16);
    full.set(bytes);
    full.set(new Uint8Array(body.buffer), 44);
    new DataView(full.buffer).setUint32(40, 16, true);
    const error = await expectAudioError(file('nan.wav', full), 'AUDIO_NOT_FINITE', /nan\.wav.*NaN at sample 2/);
    expect(error.details).toMatchObject({ index: 2 });
  });

  it('truncated MP3: the part present is decoded (as ffmpeg would); with almost nothing left, AUDIO_DECODE', async () => {
    const mp3 = new Uint8Array(readFileSync(`${FORMATS}mp3_16k.mp3`));
    const half = await prepareAudio(mp3.subarray(0, 2000));
    expect(half.format).toBe('mp3');
    expect(half.waveform.length).toBeGreaterThan(1000);
    expect(half.waveform.length).toBeLessThan(16000);
    await expectAudioError(
      file('cut.mp3', mp3.subarray(0, 100)),
      'AUDIO_DECODE',
      /cut\.mp3.*MP3.*truncated or damaged/,
    );
  });

  it('random bytes named .wav: AUDIO_UNSUPPORTED_FORMAT saying it is not a WAV', async () => {
    await expectAudioError(
      file('noise.wav', noise(4096)),
      'AUDIO_UNSUPPORTED_FORMAT',
      /noise\.wav.*unrecognised format.*even though its name ends in \.wav/,
    );
  });

  it('a text file: AUDIO_UNSUPPORTED_FORMAT', async () => {
    await expectAudioError(
      file('notes.wav', new TextEncoder().encode('These are my meeting notes.\nNot audio.\n')),
      'AUDIO_UNSUPPORTED_FORMAT',
      /notes\.wav.*text file, not audio/,
    );
  });

  it('a PNG: AUDIO_UNSUPPORTED_FORMAT', async () => {
    const png = new Uint8Array([
      0x89,
      0x50,
      0x4e,
      0x47,
      0x0d,
      0x0a,
      0x1a,
      0x0a,
      0,
      0,
      0,
      13,
      0x49,
      0x48,
      0x44,
      0x52,
      ...new Array<number>(17).fill(0),
    ]);
    await expectAudioError(file('photo.png', png), 'AUDIO_UNSUPPORTED_FORMAT', /photo\.png.*PNG image, not audio/);
  });

  it('a .npy array: AUDIO_UNSUPPORTED_FORMAT telling how to pass samples', async () => {
    await expectAudioError(
      new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]),
      'AUDIO_UNSUPPORTED_FORMAT',
      /NumPy.*Float32Array/,
    );
  });

  it('a missing file: AUDIO_FILE_NOT_FOUND naming the path', async () => {
    const missing = join(dir, 'nope', 'missing.wav');
    const error = await expectAudioError(missing, 'AUDIO_FILE_NOT_FOUND', /Audio file not found/);
    expect(error.message).toContain(missing);
  });

  it('a directory: AUDIO_INVALID_TYPE', async () => {
    await expectAudioError(dir, 'AUDIO_INVALID_TYPE', /is a directory/);
  });

  it('a URL: AUDIO_INVALID_TYPE (not fetched)', async () => {
    await expectAudioError('https://example.com/a.wav', 'AUDIO_INVALID_TYPE', /URL/);
  });

  it('a path where the platform cannot read files: AUDIO_INVALID_TYPE', async () => {
    const original = getPlatform();
    installPlatform({ name: 'browser' });
    try {
      await expectAudioError('speech.wav', 'AUDIO_INVALID_TYPE', /browser platform cannot read files.*File\/Blob/);
    } finally {
      installPlatform(original);
    }
  });
});

describe('short audio', () => {
  it('a 5 ms clip is prepared (the model, not prepareAudio, rejects < 400 samples)', async () => {
    expect((await prepareAudio(wav({ samples: tone(80) }))).waveform.length).toBe(80);
    const at44k = await prepareAudio({ channels: [new Float32Array(221).fill(0.1)], sampleRate: 44100 });
    expect(at44k.waveform.length).toBe(81); // ceil(221 * 16000 / 44100), torchaudio's length
  });
});

describe('bad samples', () => {
  it('NaN in a Float32Array: AUDIO_NOT_FINITE at the first bad index', async () => {
    const samples = new Float32Array(1000).fill(0.1);
    samples[3] = Number.NaN;
    samples[7] = Number.NaN;
    const error = await expectAudioError(samples, 'AUDIO_NOT_FINITE', /NaN at sample 3/);
    expect(error.details).toMatchObject({ index: 3 });
  });

  it('Infinity in channel 1: AUDIO_NOT_FINITE naming the channel', async () => {
    const right = new Float32Array(1000);
    right[500] = Number.NEGATIVE_INFINITY;
    const error = await expectAudioError(
      { channels: [new Float32Array(1000), right], sampleRate: 16000 },
      'AUDIO_NOT_FINITE',
      /Channel 1 contains -Infinity at sample 500/,
    );
    expect(error.details).toMatchObject({ index: 500, channel: 1 });
  });

  it('empty arrays: AUDIO_EMPTY', async () => {
    await expectAudioError(new Float32Array(0), 'AUDIO_EMPTY');
    await expectAudioError({ channels: [], sampleRate: 16000 }, 'AUDIO_EMPTY');
    await expectAudioError({ channels: [new Float32Array(0)], sampleRate: 16000 }, 'AUDIO_EMPTY');
  });

  it('channels of unequal length: AUDIO_INVALID_TYPE', async () => {
    await expectAudioError(
      { channels: [new Float32Array(100), new Float32Array(99)], sampleRate: 16000 },
      'AUDIO_INVALID_TYPE',
      /Channel 1 has 99 samples but channel 0 has 100/,
    );
  });

  it.each([0, -16000, 44100.5, Number.NaN, Number.POSITIVE_INFINITY, 4294967295])(
    'sampleRate %s: AUDIO_SAMPLE_RATE',
    async (sampleRate) => {
      await expectAudioError({ channels: [new Float32Array(100)], sampleRate }, 'AUDIO_SAMPLE_RATE', /sample rate/);
    },
  );

  it('a sampleRate that is a string: AUDIO_SAMPLE_RATE', async () => {
    await expectAudioError(
      { channels: [new Float32Array(100)], sampleRate: '16000' as unknown as number },
      'AUDIO_SAMPLE_RATE',
    );
  });
});

describe('wrong input types: AUDIO_INVALID_TYPE naming what was given', () => {
  const cases: [input: unknown, given: RegExp][] = [
    [42, /a number \(42\)/],
    [null, /got null/],
    [undefined, /got undefined/],
    [true, /a boolean/],
    [{ foo: 1 }, /an object with keys \{foo\}/],
    [{ samples: new Float32Array(10), sampleRate: 16000 }, /\{ channels: \[samples\], sampleRate \}/],
    [new Int16Array(10), /Int16Array.*divide 16-bit samples by 32768/],
    [new Float64Array(10), /Float64Array.*Float32Array\.from/],
    [[0.1, 0.2, 0.3], /an array of 3 element\(s\).*new Float32Array/],
    [{ channels: [[0.1, 0.2]], sampleRate: 16000 }, /channels\[0\] is an array of 2 element\(s\), not a Float32Array/],
  ];
  it.each(cases)('%#', async (input, given) => {
    await expectAudioError(input as AudioInput, 'AUDIO_INVALID_TYPE', given);
  });
});

describe('decodeAudio never lets a library error escape', () => {
  it('garbage after a valid Ogg page header: a typed error', async () => {
    const bytes = new Uint8Array(200);
    bytes.set([0x4f, 0x67, 0x67, 0x53], 0);
    bytes.set(noise(150), 50);
    const error = await decodeAudio(bytes, { fileName: 'broken.ogg' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioInputError);
    expect((error as Error).message).toContain('broken.ogg');
  });

  it('a FLAC signature followed by junk: a typed error', async () => {
    const bytes = new Uint8Array([0x66, 0x4c, 0x61, 0x43, ...noise(300)]);
    const error = await decodeAudio(bytes, { fileName: 'broken.flac' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AudioInputError);
    expect((error as AudioInputError).code).toMatch(/AUDIO_DECODE|AUDIO_UNSUPPORTED_FORMAT/);
  });
});

describe('garbage is not accepted as audio, and decoders stay off the console', () => {
  /** Runs `work` while recording everything written through console.* (restored afterwards). */
  async function consoleOutput(work: () => Promise<unknown>): Promise<string[]> {
    const lines: string[] = [];
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) console[m] = (...args: unknown[]) => void lines.push(args.map(String).join(' '));
    try {
      await work().catch(() => undefined);
    } finally {
      methods.forEach((m, i) => (console[m] = saved[i]!));
    }
    return lines;
  }

  // Seeded bytes behind an MPEG-1 Layer III sync word and a plausible 128 kbit/s 44.1 kHz header: libmpg123
  // finds frames in it and reports stream errors (before, this decoded to 0.2 s of noise with a peak of 3.3).
  const mpegGarbage = (() => {
    const bytes = noise(8192);
    bytes.set([0xff, 0xfb, 0x90, 0x64]);
    return bytes;
  })();

  it('random bytes starting with an MPEG sync word: AUDIO_DECODE quoting the decoder, nothing printed', async () => {
    let error: unknown;
    const printed = await consoleOutput(async () => {
      error = await prepareAudio(file('sync.mp3', mpegGarbage)).catch((e: unknown) => e);
    });
    expect(error).toBeInstanceOf(AudioInputError);
    expect(error).toMatchObject({
      code: 'AUDIO_DECODE',
      message: expect.stringMatching(/sync\.mp3.*MP3 audio.*mpg123 reported \d+ errors?/),
    });
    expect(printed).toEqual([]);
  });

  it('the same garbage is not handed to ffmpeg after the bundled decoder refused it', async () => {
    const original = getFallbackDecoder();
    let fallbackCalls = 0;
    installFallbackDecoder(async () => (fallbackCalls++, null));
    try {
      await expectAudioError(mpegGarbage, 'AUDIO_DECODE');
      expect(fallbackCalls).toBe(0);
    } finally {
      installFallbackDecoder(original);
    }
  });

  it('a PCM WAV claiming 7 bits per sample: refused by the WAV reader, not re-read by ffmpeg as 8-bit noise', async () => {
    const original = getFallbackDecoder();
    let fallbackCalls = 0;
    installFallbackDecoder(async () => (fallbackCalls++, null));
    try {
      const bytes = wav({ samples: tone(1600) });
      new DataView(bytes.buffer).setUint16(34, 7, true);
      await expectAudioError(file('seven.wav', bytes), 'AUDIO_DECODE', /7-bit PCM samples/);
      expect(fallbackCalls).toBe(0);
    } finally {
      installFallbackDecoder(original);
    }
  });

  it('a FLAC whose STREAMINFO disagrees with its frames (sample count, rate): AUDIO_DECODE naming the contradiction', async () => {
    const flac = new Uint8Array(readFileSync(`${FORMATS}flac16_16k.flac`));
    const moreSamples = flac.slice();
    moreSamples[25] = (moreSamples[25]! + 1) & 0xff; // total samples 16000 -> 16001 (low byte)
    await expectAudioError(
      file('count.flac', moreSamples),
      'AUDIO_DECODE',
      /count\.flac.*header says 160\d\d samples per channel but 16000 decoded/,
    );
    const otherRate = flac.slice();
    otherRate[18] = 0x01; // 16000 Hz -> 16000 + 65536 Hz in the 20-bit rate field
    const printed = await consoleOutput(async () => {
      await expectAudioError(file('rate.flac', otherRate), 'AUDIO_DECODE', /rate\.flac/);
    });
    expect(printed).toEqual([]);
  });

  it.skipIf(!HAS_FFMPEG)(
    'an MP4 whose audio is not AAC (here MP3) is not damage: it goes to the platform fallback',
    async () => {
      const path = join(dir, 'mp3-in.mp4');
      execFileSync('ffmpeg', [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-i',
        `${FORMATS}mp3_16k.mp3`,
        '-c:a',
        'copy',
        path,
      ]);
      const original = getFallbackDecoder();
      let handedOver = false;
      installFallbackDecoder(async (bytes, hint) => ((handedOver = true), original!(bytes, hint)));
      try {
        const decoded = await decodeAudio(new Uint8Array(readFileSync(path)), { fileName: 'mp3-in.mp4' });
        expect(handedOver).toBe(true);
        expect(decoded).toMatchObject({ decoder: 'fallback', sampleRate: 16000 });
      } finally {
        installFallbackDecoder(original);
      }
    },
  );

  it('a good MP3, FLAC and Ogg still decode with nothing printed', async () => {
    const printed = await consoleOutput(async () => {
      for (const name of ['mp3_16k.mp3', 'flac16_16k.flac', 'vorbis_16k.ogg', 'opus_16k.opus', 'aac_16k.m4a']) {
        const decoded = await decodeAudio(new Uint8Array(readFileSync(FORMATS + name)), { fileName: name });
        expect(decoded.decoder).toBe('bundled');
      }
    });
    expect(printed).toEqual([]);
  });
});
