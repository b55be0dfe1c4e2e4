/**
 * Loading converted weights and checkpoints straight from files (issue 10): format 3 stores weight matrices
 * transposed and readers still hand out PyTorch's layout; older format-1 folders load to the same numbers; local
 * files are read by position (shards and model.pt opened, never read whole) with the same typed errors.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError, Emotion2Vec } from '../../src/node.js';
import { readConvertedModel, transpose2d } from '../../src/model/converted.js';
import { readCheckpoint } from '../../src/model/checkpoint/index.js';
import { openRegularFile } from '../../src/io/regular-file.js';
import { float32ToLittleEndian } from '../../src/io/bytes.js';
import { convertedFiles } from '../support/converted-files.js';
import { fixturePath, randomArray } from '../support/fixtures.js';

const folders: string[] = [];
afterAll(() => folders.forEach((folder) => rmSync(folder, { recursive: true, force: true })));

/** Files written into a fresh temporary folder. */
function folderOf(files: Record<string, Uint8Array>): string {
  const folder = mkdtempSync(join(tmpdir(), 'e2v-load-'));
  folders.push(folder);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(folder, name), bytes);
  return folder;
}

const manifestOf = (files: Record<string, Uint8Array>) => JSON.parse(new TextDecoder().decode(files['model.json']));

/** The same model as a format-1 folder (PyTorch's layout everywhere and no checksums, as converted before format 3). */
async function asFormat1(files: Record<string, Uint8Array>): Promise<Record<string, Uint8Array>> {
  const manifest = manifestOf(files);
  const { weights } = await readConvertedModel(
    new TextDecoder().decode(files['model.json']),
    async (name) => files[name]!,
  );
  const parts = [...weights.tensors.values()].map((entry) => float32ToLittleEndian(entry.read()));
  const shard = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  parts.reduce((offset, part) => (shard.set(part, offset), offset + part.length), 0);
  const group = manifest.weightsManifest[0];
  group.paths = ['group1-shard1of1.bin'];
  group.weights = group.weights.map(({ layout: _, checksum: __, ...weight }: Record<string, unknown>) => weight);
  manifest.formatVersion = 1;
  return {
    ...Object.fromEntries(Object.entries(files).filter(([name]) => !name.endsWith('.bin'))),
    'model.json': new TextEncoder().encode(JSON.stringify(manifest)),
    'group1-shard1of1.bin': shard,
  };
}

async function scoresOf(source: string | Record<string, Uint8Array>, backend: 'wasm' | 'cpu'): Promise<number[]> {
  const model = await Emotion2Vec.load(source, { backend });
  try {
    const audio = randomArray(16000, 7).map((v) => v * 0.1);
    return Object.values((await model.predict(audio)).scores);
  } finally {
    model.dispose();
  }
}

const loadError = (source: string | Record<string, Uint8Array>) =>
  Emotion2Vec.load(source, { backend: 'cpu' }).then(
    (model) => (model.dispose(), null),
    (error: unknown) => error as CheckpointError,
  );

describe('converted format 3: weight matrices stored transposed', () => {
  it('writes every float32 matrix transposed, and reads hand out exactly the checkpoint values in PyTorch order', async () => {
    const files = await convertedFiles('tiny', 'float32');
    const manifest = manifestOf(files);
    expect(manifest.formatVersion).toBe(3);
    const weights = manifest.weightsManifest[0].weights as { shape: number[]; layout?: string }[];
    expect(weights.filter((w) => w.shape.length === 2).every((w) => w.layout === 'transposed')).toBe(true);
    expect(weights.filter((w) => w.shape.length !== 2).some((w) => w.layout)).toBe(false);

    const original = readCheckpoint(new Uint8Array(readFileSync(fixturePath('tiny', 'model.pt'))), 'model.pt').tensors;
    const { weights: converted } = await readConvertedModel(
      new TextDecoder().decode(files['model.json']),
      async (name) => files[name]!,
    );
    for (const [name, entry] of converted.tensors) expect(entry.read(), name).toEqual(original.get(name)!.read());
  });

  it('int8 matrices keep PyTorch layout (their scales are per PyTorch row)', async () => {
    const weights = manifestOf(await convertedFiles('tiny', 'int8')).weightsManifest[0].weights as {
      quantization?: { dtype: string };
      layout?: string;
    }[];
    expect(weights.some((w) => w.quantization?.dtype === 'int8')).toBe(true);
    expect(weights.some((w) => w.quantization?.dtype === 'int8' && w.layout)).toBe(false);
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: format 3 from disk, format 3 in memory and a format-1 folder give the same scores, no tensor left behind`, async () => {
      const files = await convertedFiles('tiny', 'float32');
      const before = (await scoresOf(fixturePath('tiny'), backend), tf.memory().numTensors);
      const fromDisk = await scoresOf(folderOf(files), backend);
      expect(await scoresOf(files, backend)).toEqual(fromDisk);
      expect(await scoresOf(folderOf(await asFormat1(files)), backend)).toEqual(fromDisk);
      // The checkpoint itself (model.pt read by position) gives the same numbers.
      expect(await scoresOf(fixturePath('tiny'), backend)).toEqual(fromDisk);
      expect(tf.memory().numTensors).toBe(before);
    }, 120_000);
  }

  it.each([
    ['an unknown layout', (w: any[]) => (w.find((x) => x.layout).layout = 'columns'), /layout .* is "columns"/],
    [
      'a transposed bias',
      (w: any[]) => (w.find((x) => x.shape.length === 1).layout = 'transposed'),
      /on a tensor of rank 1/,
    ],
  ])('%s: CHECKPOINT_FORMAT naming the tensor', async (_, edit, message) => {
    const files = await convertedFiles('tiny', 'float32');
    const manifest = manifestOf(files);
    edit(manifest.weightsManifest[0].weights);
    files['model.json'] = new TextEncoder().encode(JSON.stringify(manifest));
    const error = await loadError(files);
    expect(error?.code).toBe('CHECKPOINT_FORMAT');
    expect(error?.message).toMatch(message);
  });

  it('transpose2d is its own inverse on a non-square matrix larger than one tile', () => {
    const values = randomArray(37 * 70, 3);
    const once = transpose2d(values, 37, 70);
    expect(once[1]).toBe(values[70]);
    expect(transpose2d(once, 70, 37)).toEqual(values);
  });
});

describe('reading local files by position', () => {
  it('a NaN in a transposed matrix read from disk: CHECKPOINT_NOT_FINITE naming the tensor', async () => {
    const files = await convertedFiles('tiny', 'float32');
    const weights = manifestOf(files).weightsManifest[0].weights as {
      name: string;
      shape: number[];
      layout?: string;
    }[];
    const target = weights.find((w) => w.layout)!;
    const offset = weights
      .slice(0, weights.indexOf(target))
      .reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1) * 4, 0);
    const shard = Object.keys(files).find((name) => name.endsWith('.bin'))!;
    new DataView(files[shard]!.buffer, files[shard]!.byteOffset).setFloat32(offset + 8, NaN, true);
    // As a folder converted before checksums were recorded (the checksum would catch the changed byte first).
    const manifest = manifestOf(files);
    delete manifest.weightsManifest[0].weights[weights.indexOf(target)].checksum;
    files['model.json'] = new TextEncoder().encode(JSON.stringify(manifest));
    const error = await loadError(folderOf(files));
    expect(error?.code).toBe('CHECKPOINT_NOT_FINITE');
    expect(error?.message).toContain(target.name);
  });

  it('a shard cut short on disk: CHECKPOINT_TRUNCATED before any tensor is made', async () => {
    const files = await convertedFiles('tiny', 'float32');
    const folder = folderOf(files);
    truncateSync(
      join(
        folder,
        Object.keys(files).find((name) => name.endsWith('.bin'))!,
      ),
      1000,
    );
    expect((await loadError(folder))?.code).toBe('CHECKPOINT_TRUNCATED');
  });

  it('model.pt opened by position: tensors equal the in-memory read; a file cut short is CHECKPOINT_TRUNCATED', async () => {
    const path = fixturePath('tiny', 'model.pt');
    const inMemory = readCheckpoint(new Uint8Array(readFileSync(path)), 'model.pt').tensors;
    const opened = readCheckpoint(await openRegularFile(path), 'model.pt').tensors;
    for (const [name, entry] of opened) {
      const target = new Float32Array(entry.shape.reduce((a, b) => a * b, 1));
      entry.readInto!(target);
      expect(target, name).toEqual(inMemory.get(name)!.read());
    }
    const folder = folderOf({
      'model.pt': readFileSync(path).subarray(0, Math.floor(readFileSync(path).length * 0.6)),
    });
    const error = await Promise.resolve()
      .then(async () => readCheckpoint(await openRegularFile(join(folder, 'model.pt')), 'model.pt'))
      .then((contents) => [...contents.tensors.values()].forEach((entry) => entry.read()))
      .catch((caught: unknown) => caught as CheckpointError);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).code).toBe('CHECKPOINT_TRUNCATED');
  });
});

describe('checksums of converted weights', () => {
  it.each(['float32', 'float16', 'int8'] as const)(
    '%s: every weight records one; a byte changed in a shard on disk or in memory is MODEL_INTEGRITY naming the tensor, the shard and the folder',
    async (dtype) => {
      const files = await convertedFiles('tiny', dtype);
      const weights = manifestOf(files).weightsManifest[0].weights as { name: string; checksum?: string }[];
      expect(weights.every((w) => /^xxh32:[0-9a-f]{8}$/.test(w.checksum ?? ''))).toBe(true);
      const shard = Object.keys(files).find((name) => name.endsWith('.bin'))!;
      // A byte in the middle of the shard, flipped in its lowest bit: the values stay finite and plausible.
      const changed = { ...files, [shard]: files[shard]!.slice() };
      changed[shard]![Math.floor(changed[shard]!.length / 2)]! ^= 1;
      const folder = folderOf(changed);
      for (const source of [folder, changed]) {
        const error = await loadError(source);
        expect(error?.code).toBe('MODEL_INTEGRITY');
        expect(error?.message).toMatch(/changed after conversion: the bytes of "[^"]+" no longer match/);
        expect(error?.message).toContain(`"${shard}"`);
      }
      expect((await loadError(folder))?.message).toContain(folder);
      // The unchanged files load.
      expect(await loadError(folderOf(files))).toBeNull();
    },
  );

  it('a malformed checksum is CHECKPOINT_FORMAT before any shard is read', async () => {
    const files = await convertedFiles('tiny', 'float32');
    const manifest = manifestOf(files);
    manifest.weightsManifest[0].weights[0].checksum = 'sha1:1234';
    const error = await loadError({ ...files, 'model.json': new TextEncoder().encode(JSON.stringify(manifest)) });
    expect(error?.code).toBe('CHECKPOINT_FORMAT');
    expect(error?.message).toMatch(/the checksum of .* is "sha1:1234"/);
  });
});
