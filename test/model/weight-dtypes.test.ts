/**
 * `convert --dtype float16|int8`: stored smaller, read back as float32. The drift each stored type adds is
 * measured against the upstream reference on the tiny real checkpoint and held at the measured value with a
 * margin (base: test/parity/weight-dtypes-base.test.ts; numbers in docs/performance.md). Also: the encodings
 * themselves, hostile `quantization` fields, and the read-once rule of streamed shards.
 */
import { describe, expect, it } from 'vitest';
import { CheckpointError, Emotion2Vec } from '../../src/node.js';
import { readConvertedModel } from '../../src/model/converted.js';
import { decodeWeights, encodeWeights, type WeightDType } from '../../src/model/weight-dtypes.js';
import { convertedFiles } from '../support/converted-files.js';
import { measureDrift } from '../support/dtype-drift.js';
import { randomArray } from '../support/fixtures.js';

/** Measured on this machine (wasm and cpu agree to the digits shown), bars about 1.5-2x above. */
const TINY_BARS: Record<WeightDType, { bytes: number; frames: number; scores: number }> = {
  float32: { bytes: 1_281_076, frames: 1e-4, scores: 1e-4 }, // measured 1.24e-5, 8.49e-7 (the parity bars)
  float16: { bytes: 640_538, frames: 2e-2, scores: 3e-3 }, // measured 1.05e-2, 1.47e-3
  int8: { bytes: 337_972, frames: 0.3, scores: 4e-2 }, // measured 1.77e-1, 2.22e-2
};

describe('tiny checkpoint converted with --dtype', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const dtype of ['float32', 'float16', 'int8'] as const) {
      it(`${dtype} on ${backend}: within its measured drift of upstream, same top labels`, async () => {
        const drift = await measureDrift('tiny', dtype, backend);
        expect(drift.bytes).toBe(TINY_BARS[dtype].bytes);
        expect(drift.topMismatches).toEqual([]);
        expect(drift.frames).toBeLessThan(TINY_BARS[dtype].frames);
        expect(drift.scores).toBeLessThan(TINY_BARS[dtype].scores);
      }, 120_000);
    }
  }
});

describe('weight encodings', () => {
  it('float16: within half a unit in the last place; float16 range checked', () => {
    const values = randomArray(4096, 3).map((v) => v * 4);
    const { bytes, quantization } = encodeWeights(values, [64, 64], 'float16', 'w');
    expect(bytes.length).toBe(8192);
    const back = decodeWeights(bytes, quantization, values.length);
    values.forEach((v, i) => expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 2 ** -25));
    expect(() => encodeWeights(new Float32Array([1e6]), [1, 1], 'float16', 'big')).toThrow(/beyond float16's range/);
  });

  it('int8: one scale per output channel (max |row| / 127), error at most half a step; zero rows stay zero', () => {
    const values = randomArray(3 * 512, 5);
    values.subarray(512, 1024).fill(0);
    values.subarray(1024).forEach((v, i, row) => (row[i] = v * 100));
    const { bytes, quantization } = encodeWeights(values, [3, 512], 'int8', 'w');
    expect(bytes.length).toBe(3 * 512);
    if (quantization.dtype !== 'int8') throw new Error('expected int8');
    expect(quantization.scales[1]).toBe(0);
    const back = decodeWeights(bytes, quantization, values.length);
    for (let c = 0; c < 3; c++) {
      const row = values.subarray(c * 512, (c + 1) * 512);
      expect(quantization.scales[c]).toBeCloseTo(Math.max(...row.map(Math.abs)) / 127, 6);
      row.forEach((v, i) =>
        expect(Math.abs(back[c * 512 + i]! - v)).toBeLessThanOrEqual(quantization.scales[c]! * 0.5 + 1e-6),
      );
    }
  });
});

describe('hostile quantized manifests', () => {
  /** The tiny model converted as int8, with model.json edited by `edit`. */
  async function loadEdited(
    edit: (manifest: any) => void,
    shards?: (files: Record<string, Uint8Array>) => void,
  ): Promise<unknown> {
    const files = await convertedFiles('tiny', 'int8');
    const manifest = JSON.parse(new TextDecoder().decode(files['model.json']));
    edit(manifest);
    shards?.(files);
    files['model.json'] = new TextEncoder().encode(JSON.stringify(manifest));
    return Emotion2Vec.load(files, { backend: 'cpu' }).then(
      (model) => (model.dispose(), null),
      (error: unknown) => error,
    );
  }
  const quantized = (manifest: any) =>
    manifest.weightsManifest[0].weights.find((w: any) => w.quantization?.dtype === 'int8');

  it.each([
    ['an unknown stored type', (m: any) => (quantized(m).quantization.dtype = 'int4'), /stored type "int4"/],
    ['too few scales', (m: any) => quantized(m).quantization.scales.pop(), /needs \d+ scales/],
    [
      'a scale that is a string',
      (m: any) => (quantized(m).quantization.scales[0] = '1'),
      /not a finite non-negative number/,
    ],
    ['a negative scale', (m: any) => (quantized(m).quantization.scales[0] = -1), /not a finite non-negative number/],
    [
      'int8 on a bias',
      (m: any) =>
        (m.weightsManifest[0].weights.find((w: any) => w.shape.length === 1).quantization = {
          dtype: 'int8',
          scales: [1],
        }),
      /rank below 2/,
    ],
  ])('%s: CheckpointError naming the tensor', async (_, edit, message) => {
    const error = await loadEdited(edit);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(message);
  });

  it('a scale so large the weights overflow: CHECKPOINT_NOT_FINITE from the dequantized values', async () => {
    const error = await loadEdited((m) => (quantized(m).quantization.scales[0] = 1e308));
    expect((error as CheckpointError).code).toBe('CHECKPOINT_NOT_FINITE');
  });

  it('a shard larger than the int8 tensors need is refused before it is read (the byte budget counts stored types)', async () => {
    const error = await loadEdited(
      () => undefined,
      (files) => {
        const shard = Object.keys(files).find((name) => name.endsWith('.bin'))!;
        files[shard] = new Uint8Array(files[shard]!.length * 4);
      },
    );
    expect((error as CheckpointError).code).toBe('FILE_TOO_LARGE');
  });

  it('a streamed tensor is read once: its shard is let go, a second read is a typed error', async () => {
    const files = await convertedFiles('tiny', 'float16');
    const { weights } = await readConvertedModel(
      new TextDecoder().decode(files['model.json']),
      async (name) => files[name]!,
    );
    const [name, entry] = [...weights.tensors][0]!;
    expect(entry.read().length).toBeGreaterThan(0);
    expect(() => entry.read()).toThrow(CheckpointError);
    expect(() => entry.read()).toThrow(new RegExp(`${name.replace(/\./g, '\\.')} was already read`));
  });
});
