/**
 * File identification from the first bytes (the format table, then the non-audio kinds), and what else the table
 * answers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  AUDIO_FORMATS,
  extensionForMimeType,
  SEARCHED_AUDIO_EXTENSIONS,
  sniffFormat,
} from '../../src/audio/formats.js';
import { hexHead } from '../../src/io/sniff.js';

describe('sniffFormat', () => {
  const bytes = (...parts: (string | number[])[]): Uint8Array =>
    new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
  const pad = (n: number): number[] => new Array<number>(n).fill(0);

  it.each([
    [bytes('RIFF', pad(4), 'WAVE'), 'wav', 'audio'],
    [bytes('RF64', pad(4), 'WAVE'), 'wav', 'audio'],
    [bytes('fLaC', pad(8)), 'flac', 'audio'],
    [bytes('ID3', pad(8)), 'mp3', 'audio'],
    [bytes([0xff, 0xfb, 0x90, 0x00]), 'mp3', 'audio'],
    [bytes([0xff, 0xf1, 0x50, 0x80]), 'aac', 'audio'],
    [bytes('OggS', pad(24), 'OpusHead'), 'opus', 'audio'],
    [bytes('OggS', pad(24), [1], 'vorbis'), 'vorbis', 'audio'],
    [bytes('OggS', pad(24), 'Speex   '), 'speex', 'audio'],
    [bytes(pad(4), 'ftypM4A '), 'm4a', 'audio'],
    [bytes(pad(4), 'ftypisom'), 'mp4', 'audio'],
    [bytes('FORM', pad(4), 'AIFF'), 'aiff', 'audio'],
    [bytes('.snd', pad(8)), 'au', 'audio'],
    [bytes([0x89], 'PNG', [13, 10, 26, 10]), 'png', 'other'],
    [bytes([0xff, 0xd8, 0xff, 0xe0]), 'jpeg', 'other'],
    [bytes('%PDF-1.7'), 'pdf', 'other'],
    [bytes('PK', [3, 4], pad(4)), 'zip', 'other'],
    [bytes([0x93], 'NUMPY', [1, 0]), 'npy', 'other'],
    [bytes('hello, world\n'), 'text', 'other'],
    [bytes([0, 1, 2, 3, 4, 5]), 'unknown', 'unknown'],
  ])('%#: %s', (input, format, kind) => {
    expect(sniffFormat(input)).toMatchObject({ format, kind });
  });

  it('an empty file is unknown', () => {
    expect(sniffFormat(new Uint8Array(0))).toMatchObject({ format: 'unknown', kind: 'unknown' });
  });

  it('hexHead shows at most the first 8 bytes', () => {
    expect(hexHead(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]))).toBe(
      '89 50 4e 47 0d 0a 1a 0a',
    );
    expect(hexHead(new Uint8Array([1, 2]))).toBe('01 02');
  });
});

describe('the format table', () => {
  const FIXTURES = ['formats', 'audio'].map((folder) =>
    fileURLToPath(new URL(`../fixtures/${folder}/`, import.meta.url)),
  );

  it('sniffs every audio fixture to a row that its extension belongs to', () => {
    const files = FIXTURES.flatMap((dir) =>
      readdirSync(dir)
        .filter((name) => !/\.(json|sh)$/.test(name))
        .map((name) => join(dir, name)),
    );
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const row = AUDIO_FORMATS.find((r) => r.signature(new Uint8Array(readFileSync(file))));
      expect(row?.extensions, file).toContain(extname(file));
    }
  });

  it("the folder search takes the searched rows' extensions, and only those", () => {
    expect([...SEARCHED_AUDIO_EXTENSIONS].sort()).toEqual([
      '.aac',
      '.aif',
      '.aiff',
      '.amr',
      '.caf',
      '.flac',
      '.m4a',
      '.mp3',
      '.mp4',
      '.oga',
      '.ogg',
      '.opus',
      '.wav',
      '.wave',
      '.webm',
      '.wma',
    ]);
    for (const row of AUDIO_FORMATS) for (const ext of row.extensions) expect(ext).toMatch(/^\.[a-z0-9]+$/);
  });

  it("names a recording after its MediaRecorder MIME type's container", () => {
    expect(extensionForMimeType('audio/webm;codecs=opus')).toBe('.webm');
    expect(extensionForMimeType('audio/ogg; codecs=opus')).toBe('.ogg');
    expect(extensionForMimeType('audio/mp4')).toBe('.m4a');
    expect(extensionForMimeType('Audio/WAV')).toBe('.wav');
    expect(extensionForMimeType('audio/x-unknown')).toBeUndefined();
  });
});
