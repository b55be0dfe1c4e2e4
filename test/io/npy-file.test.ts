/** NpyFileWriter: a (T, D) float32 .npy written block by block reads back like encodeNpy's. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NpyFileWriter, decodeNpy } from '../../src/node.js';
import { randomArray } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'npy-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('NpyFileWriter', () => {
  it('writes rows in blocks and fixes the shape on close', async () => {
    const data = randomArray(7 * 5, 2);
    const path = join(dir, 'a.npy');
    const writer = await NpyFileWriter.create(path, 5);
    await writer.append(data.subarray(0, 10));
    await writer.append(data.subarray(10, 10));
    await writer.append(data.subarray(10));
    await writer.close();
    const bytes = readFileSync(path);
    expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
    expect(decodeNpy(bytes)).toEqual({ data, shape: [7, 5] });
  });

  it('refuses partial rows and appends after close', async () => {
    const writer = await NpyFileWriter.create(join(dir, 'b.npy'), 4);
    await expect(writer.append(new Float32Array(6))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await writer.close();
    await expect(writer.append(new Float32Array(4))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(decodeNpy(readFileSync(join(dir, 'b.npy'))).shape).toEqual([0, 4]);
  });
});
