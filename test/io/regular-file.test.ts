import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRegularFile } from '../../src/io/regular-file.js';
import { FileRefusal } from '../../src/platform.js';

describe('readRegularFile: regular files only, size known before reading', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'e2v-regular-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a regular file whole, also through a symlink', async () => {
    writeFileSync(join(dir, 'a.bin'), Buffer.from([1, 2, 3]));
    symlinkSync(join(dir, 'a.bin'), join(dir, 'link.bin'));
    expect(await readRegularFile(join(dir, 'a.bin'))).toEqual(new Uint8Array([1, 2, 3]));
    expect(await readRegularFile(join(dir, 'link.bin'))).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('refuses a FIFO and a link to /dev/zero at once (FILE_NOT_REGULAR), and a file over maxBytes (FILE_TOO_LARGE)', async () => {
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    symlinkSync('/dev/zero', join(dir, 'zero'));
    writeFileSync(join(dir, 'big.bin'), Buffer.alloc(100));
    await expect(readRegularFile(join(dir, 'fifo'))).rejects.toMatchObject({
      code: 'FILE_NOT_REGULAR',
      message: expect.stringContaining('FIFO'),
    });
    await expect(readRegularFile(join(dir, 'zero'))).rejects.toMatchObject({
      code: 'FILE_NOT_REGULAR',
      message: expect.stringContaining('character device'),
    });
    await expect(readRegularFile(join(dir, 'big.bin'), { maxBytes: 99 })).rejects.toBeInstanceOf(FileRefusal);
    await expect(readRegularFile(join(dir, 'big.bin'), { maxBytes: 100 })).resolves.toHaveLength(100);
  });

  it('keeps ENOENT and EISDIR for the callers that map them, and names a non-UTF-8 name as such', async () => {
    await expect(readRegularFile(join(dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readRegularFile(dir)).rejects.toMatchObject({ code: 'EISDIR' });
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/x`), Buffer.from([0xff]), Buffer.from('.wav')]), 'x');
    await expect(readRegularFile(join(dir, 'x\uFFFD.wav'))).rejects.toMatchObject({ code: 'FILE_NAME_ENCODING' });
  });
});
