/**
 * The checkpoint reader on real files written by torch (test/fixtures/checkpoints/make_checkpoints.py) and on
 * damaged or foreign bytes made here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CheckpointError, Emotion2Vec } from '../../src/node.js';
import { readCheckpoint } from '../../src/model/checkpoint/index.js';
import { readSafetensors, writeSafetensors } from '../../src/model/checkpoint/safetensors.js';
import type { CheckpointContents } from '../../src/model/state-dict.js';
import { useBackend } from '../support/backend.js';
import { fixturePath, syntheticWeights } from '../support/fixtures.js';

const checkpointFile = (name: string) => new Uint8Array(readFileSync(fixturePath('checkpoints', name)));
const read = (name: string) => readCheckpoint(checkpointFile(name), name);

type Expected = Record<string, Record<string, { shape: number[]; values: number[] }>>;
const expected = JSON.parse(readFileSync(fixturePath('checkpoints', 'expected.json'), 'utf8')) as Expected;

/** Every tensor equals what torch saved, bit for bit (after rounding torch's float64 copy to float32). */
function expectTensors(contents: CheckpointContents, group: keyof Expected & string): void {
  const wanted = expected[group]!;
  expect([...contents.tensors.keys()]).toEqual(Object.keys(wanted));
  for (const [name, { shape, values }] of Object.entries(wanted)) {
    const entry = contents.tensors.get(name)!;
    expect(entry.shape, name).toEqual(shape);
    expect(Array.from(entry.read()), name).toEqual(values.map(Math.fround));
  }
}

function errorOf(run: () => unknown): CheckpointError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('torch zip checkpoints', () => {
  it('reads a plain state dict', () => {
    const contents = read('plain.pt');
    expect(contents.format).toBe('torch-zip');
    expect(contents.notes).toEqual([]);
    expectTensors(contents, 'plain');
  });

  it.each([
    ['wrapped_state_dict.pt', 'state_dict', ["'epoch'", "'optimizer'"]],
    ['wrapped_model_state_dict.pt', 'model_state_dict', ["'step'"]],
    ['wrapped_model.pt', 'model', ["'config'"]],
  ])('unwraps %s (under %s) and reports what it ignored', (file, wrapper, ignored) => {
    const contents = read(file);
    expectTensors(contents, 'plain');
    expect(contents.notes[0]).toBe(`unwrapped '${wrapper}'`);
    for (const key of ignored) expect(contents.notes[1]).toContain(key);
  });

  it('removes the DataParallel module. prefix', () => {
    const contents = read('prefixed.pt');
    expectTensors(contents, 'plain');
    expect(contents.notes).toEqual(["removed the 'module.' prefix from 4 tensor names"]);
  });

  it('tolerates other pickled objects beside the tensors without running them', () => {
    const contents = read('extra_objects.pt');
    expectTensors(contents, 'plain');
    expect(contents.notes[0]).toMatch(/ignored 6 non-tensor entries.*'args'.*'array'/);
  });

  it('converts float16, bfloat16, float64 and integer storages to float32', () => {
    expectTensors(read('dtypes.pt'), 'dtypes');
  });

  it('follows offsets and strides of views saved on a shared storage', () => {
    expectTensors(read('views.pt'), 'views');
  });

  it('refuses the legacy non-zip format with a clear error', () => {
    const error = errorOf(() => read('legacy.pt'));
    expect(error.code).toBe('CHECKPOINT_LEGACY_FORMAT');
    expect(error.message).toContain('torch.save');
  });

  it('refuses a TorchScript archive and says what to save instead', () => {
    const error = errorOf(() => read('torchscript.pt'));
    expect(error.code).toBe('CHECKPOINT_FORMAT');
    expect(error.message).toContain('TorchScript');
    expect(error.message).toContain('state_dict()');
  });

  it('reports a truncated file (an interrupted download)', () => {
    const bytes = checkpointFile('plain.pt');
    for (const keep of [0.3, 0.9, 0.99]) {
      const error = errorOf(() => readCheckpoint(bytes.subarray(0, Math.floor(bytes.length * keep)), 'model.pt'));
      expect(error.code).toBe('CHECKPOINT_TRUNCATED');
      expect(error.message).toMatch(/truncated/);
    }
    expect(errorOf(() => readCheckpoint(new Uint8Array(0), 'model.pt')).code).toBe('CHECKPOINT_TRUNCATED');
  });

  it.each([
    ['random bytes', Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251), /bytes [0-9a-f ]+/],
    [
      'a text file',
      new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\noid sha256:abc\n'),
      /the text "version https/,
    ],
    ['a PNG', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /PNG/],
  ])('refuses %s with an error saying what it looks like', (_what, bytes, pattern) => {
    const error = errorOf(() => readCheckpoint(bytes, 'model.pt'));
    expect(error.code).toBe('CHECKPOINT_FORMAT');
    expect(error.message).toMatch(pattern);
  });

  it('rebuilds the tiny fixture weights exactly as tiny/model.pt stores them', () => {
    const stored = readCheckpoint(new Uint8Array(readFileSync(fixturePath('tiny', 'model.pt'))), 'model.pt').tensors;
    const rebuilt = syntheticWeights('tiny');
    expect([...rebuilt.keys()].sort()).toEqual([...stored.keys()].sort());
    for (const [name, entry] of rebuilt) {
      const reference = stored.get(name)!;
      expect(entry.shape, name).toEqual(reference.shape);
      expect(Buffer.from(entry.read().buffer).equals(Buffer.from(reference.read().slice().buffer)), name).toBe(true);
    }
  });
});

describe('load-time checks on real torch files', () => {
  const loadTiny = async (weights: string) => {
    await useBackend('wasm');
    return Emotion2Vec.load(
      {
        'config.yaml': readFileSync(fixturePath('tiny', 'config.yaml')),
        'tokens.txt': readFileSync(fixturePath('tiny', 'tokens.txt')),
        'model.pt': checkpointFile(weights),
      },
      { backend: 'wasm' },
    ).catch((error: unknown) => error);
  };

  it('lists every missing tensor in one error', async () => {
    const error = (await loadTiny('tiny_missing.pt')) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('CHECKPOINT_TENSORS');
    expect(error.message).toContain('missing (2)');
    expect(error.message).toContain('blocks.1.mlp.fc2.bias');
    expect(error.message).toContain('modality_encoders.AUDIO.extra_tokens');
  });

  it('names a mis-shaped tensor with both shapes', async () => {
    const error = (await loadTiny('tiny_misshaped.pt')) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.code).toBe('CHECKPOINT_TENSORS');
    expect(error.message).toContain('proj.weight: expected [9, 64], found [9, 32]');
  });
});

describe('safetensors', () => {
  const tensors = [
    { name: 'a.weight', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, -6.5]) },
    { name: 'b.bias', shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) },
    { name: 'scalar', shape: [], data: Float32Array.from([7]) },
  ];

  it('round-trips through writeSafetensors', () => {
    const bytes = writeSafetensors(tensors, { format: 'pt' });
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n);
    const contents = readCheckpoint(bytes, 'model.safetensors');
    expect(contents.format).toBe('safetensors');
    for (const { name, shape, data } of tensors) {
      expect(contents.tensors.get(name)!.shape).toEqual(shape);
      expect(contents.tensors.get(name)!.read()).toEqual(data);
    }
  });

  it('reads F16 and BF16 tensors and refuses dtypes it cannot convert', () => {
    const header = JSON.stringify({
      h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
      c: { dtype: 'C64', shape: [1], data_offsets: [6, 14] },
    });
    const headerBytes = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + headerBytes.length + 14);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    bytes.set(headerBytes, 8);
    // 1.0 and -2.0 in half precision, 1.5 in bfloat16.
    bytes.set([0x00, 0x3c, 0x00, 0xc0, 0xc0, 0x3f], 8 + headerBytes.length);
    const contents = readSafetensors(bytes, 'model.safetensors');
    expect(Array.from(contents.tensors.get('h')!.read())).toEqual([1, -2]);
    expect(Array.from(contents.tensors.get('b')!.read())).toEqual([1.5]);
    expect(errorOf(() => contents.tensors.get('c')!.read()).code).toBe('CHECKPOINT_DTYPE');
  });

  it('refuses a span shorter or longer than its shape and dtype need: the tensor would read its neighbour or less', () => {
    // Two F32 tensors of 2 values, back to back. Declaring 'a' as [3] over its 8 bytes would read 'b''s first value.
    const withSpan = (shape: number[], span: [number, number]) => {
      const header = new TextEncoder().encode(
        JSON.stringify({
          a: { dtype: 'F32', shape, data_offsets: span },
          b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
        }),
      );
      const bytes = new Uint8Array(8 + header.length + 16);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(header, 8);
      bytes.set(new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer), 8 + header.length);
      return bytes;
    };
    expect(
      Array.from(
        readSafetensors(withSpan([2], [0, 8]), 'ok.safetensors')
          .tensors.get('a')!
          .read(),
      ),
    ).toEqual([1, 2]);
    for (const [shape, span] of [
      [[3], [0, 8]],
      [
        [2, 2],
        [0, 8],
      ],
      [[1], [0, 8]],
    ] as [number[], [number, number]][]) {
      const error = errorOf(() => readSafetensors(withSpan(shape, span), 'short.safetensors').tensors.get('a')!.read());
      expect(error.code).toBe('CHECKPOINT_FORMAT');
      expect(error.message).toMatch(/tensor "a" of shape \[[\d, ]+\] F32 spans 8 bytes instead of (4|12|16)/);
    }
  });

  it('reports a truncated file', () => {
    const bytes = writeSafetensors(tensors);
    expect(errorOf(() => readSafetensors(bytes.subarray(0, bytes.length - 4), 'model.safetensors')).code).toBe(
      'CHECKPOINT_TRUNCATED',
    );
    expect(errorOf(() => readSafetensors(bytes.subarray(0, 20), 'model.safetensors')).code).toBe(
      'CHECKPOINT_TRUNCATED',
    );
  });
});
