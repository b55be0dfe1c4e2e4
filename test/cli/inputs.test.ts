import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectInputs, parseList } from '../../src/cli/inputs.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-inputs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('analyze inputs', () => {
  it('reads wav.scp keys (paths may hold spaces), skips comments, refuses pipes and malformed lines', () => {
    expect(parseList('# header\n\nutt1 /data/a b.wav\r\nutt2\t/data/c.flac\n', 'wav.scp', true)).toEqual([
      { key: 'utt1', path: '/data/a b.wav', listedKey: true },
      { key: 'utt2', path: '/data/c.flac', listedKey: true },
    ]);
    expect(() => parseList('utt1 sox a.wav -t wav - |\n', 'wav.scp', true)).toThrow(/pipe commands/);
    expect(() => parseList('lonely\n', 'wav.scp', true)).toThrow(/line 1: expected "<key> <path>"/);
    expect(parseList('a.wav\n  b dir/c.wav  \n', 'files.lst', false)).toEqual([
      { key: 'a', path: 'a.wav' },
      { key: 'c', path: 'b dir/c.wav' },
    ]);
  });

  it('searches folders recursively by audio extension, in sorted order, without following symlinks; FIFOs are refused unread', async () => {
    mkdirSync(join(work, 'tree', 'b', 'c'), { recursive: true });
    for (const file of ['z.wav', 'b/c/x.FLAC', 'b/y.mp3', 'b/notes.txt', 'b/c/image.png'])
      writeFileSync(join(work, 'tree', file), '');
    mkdirSync(join(work, 'elsewhere'));
    writeFileSync(join(work, 'elsewhere', 'outside.wav'), '');
    symlinkSync(join(work, 'elsewhere'), join(work, 'tree', 'link'));
    execFileSync('mkfifo', [join(work, 'pipe.wav')]);
    const items = await collectInputs([join(work, 'tree'), join(work, 'pipe.wav'), join(work, 'missing.wav')]);
    expect(items.map((item) => item.path.slice(work.length + 1))).toEqual([
      'tree/b/c/x.FLAC',
      'tree/b/y.mp3',
      'tree/z.wav',
      'pipe.wav',
      'missing.wav',
    ]);
    expect(items[3]!.refused).toMatch(/not a regular file/);
    expect(items.filter((item) => item.refused)).toHaveLength(1); // a missing file is left to the decoder's "not found"
  });
});
