/**
 * The files the page ships beside its script (src/web/assets): the Chinese font subset covers every Chinese
 * character the page can show (its own text, the record's and the assistant's, the label names), and the example
 * recording is a few seconds of speech that the library reads. Both stay small: they ship in the package.
 */
import '../../src/node.js';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prepareAudio } from '../../src/audio/prepare.js';
import { woff2CodePoints } from '../support/font-cmap.js';
import { fixturePath } from '../support/fixtures.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const ASSETS = join(SRC, 'web/assets');
const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/gu;

/** The text of every file in `folder` (not its subfolders) whose name ends with one of `extensions`. */
function sources(folder: string, extensions: readonly string[]): string {
  return readdirSync(join(SRC, folder))
    .filter((name) => extensions.some((ext) => name.endsWith(ext)))
    .map((name) => readFileSync(join(SRC, folder, name), 'utf8'))
    .join('\n');
}

describe('the page assets', () => {
  it('the font subset has a glyph for every Chinese character the page can show', () => {
    const font = readFileSync(join(ASSETS, 'noto-sans-sc-subset.woff2'));
    const covered = woff2CodePoints(font);
    const shown = [
      sources('web', ['.ts', '.css']),
      sources('results', ['.ts']),
      sources('assistant', ['.ts']),
      readFileSync(fixturePath('tiny', 'tokens.txt'), 'utf8'), // the emotion2vec+ labels
    ].join('\n');
    const characters = [...new Set(shown.match(CJK) ?? [])];
    expect(characters.length).toBeGreaterThan(50);
    const missing = characters.filter((c) => !covered.has(c.codePointAt(0)!));
    // When this fails: run src/web/assets/make-font.sh (its header says how) and commit the new font.
    expect(missing.join('')).toBe('');
    expect(font.byteLength).toBeLessThan(64 * 1024);
    expect(readFileSync(join(SRC, 'web/style.css'), 'utf8')).toContain('url("./assets/noto-sans-sc-subset.woff2")');
  });

  it('the example recording is a few seconds of audio the library reads, and small', async () => {
    const path = join(ASSETS, 'example.ogg');
    expect(statSync(path).size).toBeLessThan(64 * 1024);
    const audio = await prepareAudio(new Uint8Array(readFileSync(path)));
    const seconds = audio.waveform.length / 16_000;
    expect(seconds).toBeGreaterThan(3);
    expect(seconds).toBeLessThan(10);
    expect(audio.quality.warnings).toEqual([]);
  });
});
