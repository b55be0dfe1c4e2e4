import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readZipEntry, readZipIndex, ZipError } from '../../src/io/zip.js';
import { writeZip, zeroBomb } from '../hostile/make.js';
import { fixturePath } from '../support/fixtures.js';

describe('zip index and bounded entry reads', () => {
  it('reads every entry of a real torch checkpoint exactly as fflate does', () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('tiny', 'model.pt')));
    const index = readZipIndex(bytes);
    const reference = unzipSync(bytes);
    expect([...index.keys()].sort()).toEqual(Object.keys(reference).sort());
    for (const entry of index.values()) expect(readZipEntry(bytes, entry, entry.size)).toEqual(reference[entry.name]);
  });

  it('reads zip64 sizes and offsets from the extra field', () => {
    const data = new Uint8Array([1, 2, 3, 4, 5]);
    const bytes = writeZip(
      [
        { name: 'a', data: new Uint8Array([9]) },
        { name: 'b', data },
      ],
      true,
    );
    const entry = readZipIndex(bytes).get('b')!;
    expect(entry).toMatchObject({ size: 5, compressedSize: 5 });
    expect(readZipEntry(bytes, entry, 5)).toEqual(data);
  });

  it('inflates only the bytes asked for, however much the entry holds (a 1 GiB bomb read for 1 KB)', () => {
    const bytes = writeZip([{ name: 'bomb', deflated: zeroBomb(1024), declaredSize: 2 ** 30 }]);
    const entry = readZipIndex(bytes).get('bomb')!;
    const started = performance.now();
    expect(readZipEntry(bytes, entry, 1000)).toEqual(new Uint8Array(1000));
    // One 16 KiB push inflates at most ~16 MiB: nowhere near the 1 GiB the entry holds.
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('an entry shorter than asked, cut short, or outside the archive is a ZipError', () => {
    const bytes = writeZip([
      { name: 'small', deflated: zeroBomb(1), declaredSize: 2 ** 20 },
      { name: 'stored', data: new Uint8Array(4) },
    ]);
    const index = readZipIndex(bytes);
    expect(() => readZipEntry(bytes, index.get('small')!, 2 ** 20 + 1)).toThrow(
      expect.objectContaining({ reason: 'short' }),
    );
    expect(() => readZipEntry(bytes, index.get('stored')!, 5)).toThrow(ZipError);
    expect(() => readZipEntry(bytes, { ...index.get('stored')!, localOffset: bytes.length + 10 }, 4)).toThrow(
      /outside the archive/,
    );
    expect(() => readZipIndex(bytes.subarray(0, bytes.length - 30))).toThrow(ZipError);
  });
});
