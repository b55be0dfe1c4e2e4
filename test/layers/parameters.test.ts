import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, UsageError } from '../../src/errors.js';
import { ParameterSet, transposeMatrix, type Int8Reading, type StoredTensor } from '../../src/layers/parameters.js';
import { startInt8Compute } from '../../src/backend/kernels.js';
import { useBackend } from '../support/backend.js';
import { heapOffset } from '../support/layers.js';

function stored(shape: number[], fill = 1): StoredTensor {
  return { shape, read: () => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill) };
}

describe('ParameterSet', () => {
  beforeAll(() => useBackend('cpu'));

  it('loads declared tensors, applies their layout change and reports skipped keys', () => {
    const params = new ParameterSet();
    const weight = params.declare('layer.weight', [2, 3], (w) => tf.transpose(w));
    const bias = params.declare('layer.bias', [2]);
    const report = params.load(
      new Map([
        ['layer.weight', stored([2, 3], 2)],
        ['layer.bias', stored([2], 3)],
        ['_ema.layer.weight', stored([2, 3])],
        ['something.else', stored([1])],
      ]),
    );
    expect(report).toEqual({ loaded: 2, skippedTrainingOnly: ['_ema.layer.weight'], unused: ['something.else'] });
    expect(weight.value.shape).toEqual([3, 2]);
    expect(Array.from(bias.value.dataSync())).toEqual([3, 3]);
    params.dispose();
    expect(() => weight.value).toThrow(UsageError);
  });

  it('lists every missing and mis-shaped tensor in one error before reading any', () => {
    const params = new ParameterSet();
    params.declare('a', [2]);
    params.declare('b', [4]);
    let reads = 0;
    const counted: StoredTensor = { shape: [3], read: () => (reads++, new Float32Array(3)) };
    const error = (() => {
      try {
        params.load(new Map([['b', counted]]));
      } catch (e) {
        return e as CheckpointError;
      }
    })();
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error?.code).toBe('CHECKPOINT_TENSORS');
    expect(error?.message).toMatch(/missing \(1\):\n {2}a/);
    expect(error?.message).toMatch(/b: expected \[4\], found \[3\]/);
    expect(reads).toBe(0);
  });
});

describe('src/layers', () => {
  it('never imports from src/model (the dependency runs one way)', () => {
    const folder = fileURLToPath(new URL('../../src/layers/', import.meta.url));
    const offenders = readdirSync(folder)
      .filter((name) => name.endsWith('.ts'))
      .filter((name) => /from '\.\.\/model\//.test(readFileSync(folder + name, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

/** A stored tensor that can be read straight into the tensor's buffer (as converted folders and .pt files are). */
function direct(shape: number[], fill: number, fail = false): StoredTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    read: () => new Float32Array(count).fill(fill),
    readInto: (target) => {
      if (fail) throw new Error('disk went away');
      target.fill(fill);
    },
  };
}

describe('ParameterSet: tensors a layer packs', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  it('loads them first and side by side on the wasm heap, then packs them in that order, one per packNext', () => {
    const params = new ParameterSet();
    const packedOrder: string[] = [];
    const small = params.declare('norm.weight', [8]);
    const first = params.declare('a.weight', [64, 32], undefined, { pack: () => packedOrder.push('a') });
    const between = params.declare('a.bias', [64]);
    const second = params.declare('b.weight', [32, 64], undefined, { pack: () => packedOrder.push('b') });
    params.load(
      new Map([
        ['norm.weight', direct([8], 1)],
        ['a.weight', direct([64, 32], 2)],
        ['a.bias', direct([64], 3)],
        ['b.weight', direct([32, 64], 4)],
      ]),
    );
    // Nothing of tfjs' own lies between the two: the holes they leave once packed can join.
    const gap = heapOffset(second.value) - (heapOffset(first.value) + first.value.size * 4);
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThan(64);
    for (const other of [small, between]) expect(heapOffset(other.value)).toBeGreaterThan(heapOffset(second.value));
    expect(Array.from(second.value.dataSync().slice(0, 3))).toEqual([4, 4, 4]);
    expect(params.packNext()).toBe(true);
    expect(packedOrder).toEqual(['a']);
    params.packAll();
    expect(packedOrder).toEqual(['a', 'b']);
    expect(params.packNext()).toBe(false);
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('with int8, reads the packed Linear weights offered as int8 as int8 (side by side), everything else as float32', async () => {
    expect(await startInt8Compute()).toBeNull();
    const params = new ParameterSet();
    const int8Reads: string[] = [];
    /** A stored matrix that also offers an int8 form (as int8 folders do). */
    const offering = (name: string, shape: [number, number], fill: number): StoredTensor => ({
      ...direct(shape, fill),
      readInt8Into: (values, scales) => {
        int8Reads.push(name);
        values.fill(1);
        scales.fill(fill / 127);
      },
    });
    const matrix = { pack: () => undefined, int8: { layout: 'matrix' } } as const;
    const first = params.declare('a.weight', [64, 32], transposeMatrix, matrix);
    const second = params.declare('b.weight', [32, 64], transposeMatrix, matrix);
    const head = params.declare('head.weight', [8, 32], transposeMatrix);
    const conv = params.declare('conv.weight', [8, 32], undefined, { pack: () => undefined });
    params.load(
      new Map([
        ['a.weight', offering('a.weight', [64, 32], 2)],
        ['b.weight', offering('b.weight', [32, 64], 4)],
        ['head.weight', offering('head.weight', [8, 32], 1)],
        ['conv.weight', offering('conv.weight', [8, 32], 1)],
      ]),
      { int8: true },
    );
    expect(int8Reads).toEqual(['a.weight', 'b.weight']);
    // The int8 form's handle: one int32 per 4 bytes of int8 values and float32 scales.
    expect(first.value.dtype).toBe('int32');
    expect(first.value.size).toBe((64 * 32 + 4 * 64) / 4);
    const gap = heapOffset(second.value) - (heapOffset(first.value) + first.value.size * 4);
    expect(gap).toBeGreaterThanOrEqual(0);
    expect(gap).toBeLessThan(64);
    expect(head.value.shape).toEqual([32, 8]);
    expect(conv.value.dtype).toBe('float32');
    params.dispose();
    expect(tf.memory().numTensors).toBe(0);

    // Without the option, the same tensors load as float32.
    const plain = new ParameterSet();
    const weight = plain.declare('a.weight', [64, 32], transposeMatrix, matrix);
    plain.load(new Map([['a.weight', offering('a.weight', [64, 32], 2)]]));
    expect(weight.value.shape).toEqual([32, 64]);
    expect(int8Reads).toEqual(['a.weight', 'b.weight']);
    plain.dispose();
  });

  it('with int8, reads a Conv1d weight taps first and packs it; float32, stored-only and misaligned groups stay float32', async () => {
    expect(await startInt8Compute()).toBeNull();
    // (out 16, in 3, kernel 2): the stored int8 value of [o, c, j] is o * 6 + c * 2 + j - 128.
    const [out, inChannels, kernel] = [16, 3, 2];
    const storedConv = (int8: 'stored' | 'rounded at load' | 'none'): StoredTensor => ({
      shape: [out, inChannels, kernel],
      read: () => new Float32Array(out * inChannels * kernel).fill(1),
      ...(int8 === 'none'
        ? {}
        : {
            int8Stored: int8 === 'stored',
            readInt8Into: (values: Int8Array, scales: Float32Array) => {
              values.forEach((_, i) => (values[i] = i - 128));
              scales.fill(0.5);
            },
          }),
    });
    const packs: string[] = [];
    const convOptions = (name: string, reading: Int8Reading = { layout: 'conv-taps-first' }) =>
      ({ int8: reading, pack: () => packs.push(name), packOnlyAsInt8: true }) as const;
    const toFilter = (w: tf.Tensor) => tf.transpose(w, [2, 1, 0]);
    const params = new ParameterSet();
    const declare = (name: string, reading?: Int8Reading) =>
      params.declare(`${name}.weight`, [out, inChannels, kernel], toFilter, convOptions(name, reading));
    const conv = declare('conv');
    const grouped = declare('grouped', { layout: 'conv-taps-first', groups: 2, storedOnly: true });
    // Not offered as int8; offered, but rounded at load where only stored int8 may be used; 16 channels in 4
    // groups (4 each: not whole panels of the int8 layout, 8 columns): all three float32, never packed.
    const plainConv = declare('plain');
    const roundedAtLoad = declare('rounded', { layout: 'conv-taps-first', storedOnly: true });
    const misaligned = declare('misaligned', { layout: 'conv-taps-first', groups: 4 });
    params.load(
      new Map([
        ['conv.weight', storedConv('rounded at load')],
        ['grouped.weight', storedConv('stored')],
        ['plain.weight', storedConv('none')],
        ['rounded.weight', storedConv('rounded at load')],
        ['misaligned.weight', storedConv('stored')],
      ]),
      { int8: true },
    );
    for (const weight of [conv, grouped]) {
      expect(weight.value.dtype).toBe('int32');
      const bytes = new Int8Array(weight.value.dataSync().buffer.slice(0, out * inChannels * kernel));
      // Row o of the int8 form is (kernel, in): tap j's channels together.
      for (const [o, j, c] of [
        [0, 0, 0],
        [0, 0, 2],
        [0, 1, 0],
        [5, 1, 2],
        [15, 0, 1],
      ] as const) {
        expect(bytes[o * inChannels * kernel + j * inChannels + c]).toBe(o * 6 + c * 2 + j - 128);
      }
    }
    for (const weight of [plainConv, roundedAtLoad, misaligned])
      expect(weight.value.shape).toEqual([kernel, inChannels, out]);
    params.packAll();
    expect(packs).toEqual(['conv', 'grouped']);
    params.dispose();

    // Without int8 the same weight loads as float32 in its layer's layout, and nothing packs it.
    const plain = new ParameterSet();
    const filter = plain.declare('conv.weight', [out, inChannels, kernel], toFilter, convOptions('without int8'));
    plain.load(new Map([['conv.weight', storedConv('stored')]]));
    expect(filter.value.shape).toEqual([kernel, inChannels, out]);
    plain.packAll();
    expect(packs).toEqual(['conv', 'grouped']);
    plain.dispose();
    expect(tf.memory().numTensors).toBe(0);
  });

  it('keeps a pack that throws pending, so the next call tries it again', () => {
    const params = new ParameterSet();
    let attempts = 0;
    params.declare('a.weight', [4, 4], undefined, {
      pack: () => {
        attempts++;
        if (attempts === 1) throw new Error('out of memory');
      },
    });
    params.load(new Map([['a.weight', direct([4, 4], 1)]]));
    expect(() => params.packNext()).toThrow('out of memory');
    expect(params.packNext()).toBe(false);
    expect(attempts).toBe(2);
    params.dispose();
  });

  it('frees every heap block it set aside: when a read fails part way, when packing starts, on dispose', () => {
    const backend = tf.backend() as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } };
    const { _malloc: malloc, _free: free } = backend.wasm;
    const allocated = new Set<number>();
    let strayFrees = 0;
    backend.wasm._malloc = (n) => {
      const p = malloc.call(backend.wasm, n);
      allocated.add(p >>> 0);
      return p;
    };
    backend.wasm._free = (p) => {
      if (p !== 0 && !allocated.delete(p >>> 0)) strayFrees++;
      free.call(backend.wasm, p);
    };
    try {
      const params = new ParameterSet();
      for (const name of ['a', 'b', 'c']) params.declare(`${name}.weight`, [16, 16], undefined, { pack: () => {} });
      const dict = new Map([
        ['a.weight', direct([16, 16], 1)],
        ['b.weight', direct([16, 16], 1, true)],
        ['c.weight', direct([16, 16], 1)],
      ]);
      expect(() => params.load(dict)).toThrow('disk went away');
      expect(allocated.size).toBe(0);
      expect(strayFrees).toBe(0);
      expect(tf.memory().numTensors).toBe(0);

      // A load that worked: the weights' blocks and the head room below them (for the first packed copies).
      const good = new ParameterSet();
      for (const name of ['a', 'b']) good.declare(`${name}.weight`, [16, 16], undefined, { pack: () => {} });
      good.load(
        new Map([
          ['a.weight', direct([16, 16], 1)],
          ['b.weight', direct([16, 16], 2)],
        ]),
      );
      expect(allocated.size).toBe(3);
      good.packNext(); // the head room goes as packing starts
      expect(allocated.size).toBe(2);
      good.dispose();
      expect(allocated.size).toBe(0);
      // Disposed before any packing: the head room goes with the tensors.
      const unpacked = new ParameterSet();
      unpacked.declare('a.weight', [16, 16], undefined, { pack: () => {} });
      unpacked.load(new Map([['a.weight', direct([16, 16], 1)]]));
      unpacked.dispose();
      expect(allocated.size).toBe(0);
      expect(strayFrees).toBe(0);
    } finally {
      backend.wasm._malloc = malloc;
      backend.wasm._free = free;
    }
  });
});
