/** The one list reader (the CLI's wav.scp and path lists, head training's CSV, wav.scp and labels). */
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPipeCommand, keyedLines, listLines, MAX_LIST_BYTES, readListFile } from '../../src/io/list-file.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-lists-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('list files', () => {
  it('drops a byte-order mark; skips blank lines and # comments; trims; numbers lines from 1', async () => {
    const path = join(work, 'wav.scp');
    writeFileSync(path, '\uFEFFutt1 /data/a b.wav\r\n\n# note\n  utt2\t/data/c.flac  \n');
    const text = await readListFile(path, { code: 'INVALID_ARGUMENT' });
    expect(listLines(text)).toEqual([
      { text: 'utt1 /data/a b.wav', line: 1 },
      { text: 'utt2\t/data/c.flac', line: 4 },
    ]);
    expect(keyedLines(text, path, 'path', 'INVALID_ARGUMENT')).toEqual([
      { key: 'utt1', value: '/data/a b.wav', line: 1 },
      { key: 'utt2', value: '/data/c.flac', line: 4 },
    ]);
  });

  it("refuses a line without a value, naming the file and line, with the caller's code", () => {
    expect(() => keyedLines('a x\nlonely\n', 'labels.txt', 'label', 'TRAIN_DATA_INVALID')).toThrow(
      expect.objectContaining({
        code: 'TRAIN_DATA_INVALID',
        message: expect.stringMatching(/labels\.txt line 2: expected "<key> <label>"/),
      }),
    );
    expect(isPipeCommand('sox a.wav -t wav - |')).toBe(true);
    expect(isPipeCommand('/data/a|b.wav')).toBe(false);
  });

  it('refuses unread what is missing, not a regular file, or larger than any list', async () => {
    const huge = join(work, 'huge.lst');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_LIST_BYTES + 1); // sparse: nothing is written, and nothing may be read
    mkdirSync(join(work, 'folder.lst'));
    const errors = { code: 'TRAIN_DATA_INVALID', missingHint: 'Pass the CSV.' } as const;
    await expect(readListFile(huge, errors)).rejects.toMatchObject({
      code: 'TRAIN_DATA_INVALID',
      message: expect.stringMatching(/too large for a list/),
    });
    await expect(readListFile(join(work, 'folder.lst'), errors)).rejects.toMatchObject({
      code: 'TRAIN_DATA_INVALID',
      message: expect.stringMatching(/not a regular file/),
    });
    await expect(readListFile(join(work, 'nope.csv'), errors)).rejects.toMatchObject({
      code: 'TRAIN_DATA_INVALID',
      message: expect.stringMatching(/no such file\. Pass the CSV\./),
    });
  });
});
