/**
 * The hostile-input corpus: one case (at least) per class of issue 11, each generated here in a temp folder and
 * run through the real CLI in a child process (test/hostile/runner.ts), which must end by itself with a typed
 * error code (or a harmless load) within the bounds below, writing nothing outside the output folder, while the
 * good inputs of the same batch are still answered.
 *
 * Bounds, per child process: test/hostile/child.ts.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec, isEmotion2VecError } from '../../src/node.js';
import { Emotion2VecNetwork } from '../../src/model/network.js';
import { readCheckpoint } from '../../src/model/checkpoint/index.js';
import { readModelContents } from '../../src/model/sources.js';
import { writeConvertedModel } from '../../src/model/converted.js';
import { fixturePath } from '../support/fixtures.js';
import { HAS_FFMPEG } from '../support/audio.js';
import {
  nestedListPickle,
  sharedTupleKeyPickle,
  silentFlac,
  tensorPickle,
  torchCheckpoint,
  writeRawSafetensors,
  writeZip,
  zeroBomb,
  type RawSafetensor,
  type ZipInput,
} from './make.js';
import { readZipEntry, readZipIndex } from '../../src/io/zip.js';
import { expectBounded, runCli as runChild, type Run } from './child.js';

let dir: string;
let good: string;
let converted: string;
let goodWav: string;
let tinyTensors: { name: string; shape: number[]; values: Float32Array }[];

/** The CLI in a child process, with its peak memory and CPU time as the runner reports them. */
const runCli = (args: string[]): Promise<Run> => runChild(dir, args);

/** `analyze --model <folder> good.wav`: the model must be refused with `code` (exit 2). */
async function expectModelRefused(folder: string, code: string, why: RegExp): Promise<Run> {
  const run = await runCli(['analyze', '--model', folder, '--json', '--no-output', goodWav]);
  expectBounded(run);
  expect(run.stderr).toContain(`error ${code}:`);
  expect(run.stderr).toMatch(why);
  expect(run.code).toBe(2);
  return run;
}

/** A copy of a model folder, with some files replaced. */
function variant(from: string, name: string, replace: Record<string, string | Uint8Array | null> = {}): string {
  const to = join(dir, name);
  mkdirSync(to);
  for (const file of readdirSync(from)) if (!(file in replace)) copyFileSync(join(from, file), join(to, file));
  for (const [file, contents] of Object.entries(replace))
    if (contents !== null) writeFileSync(join(to, file), contents);
  return to;
}

/** Every file under `folder`, relative to it. */
function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter(
    (name) => !statSync(join(folder, name), { throwIfNoEntry: false })?.isDirectory(),
  );
}

/** The tiny model's entries with one replaced (name -> new entry), as a torch zip. */
function tinyZipWith(replace: (name: string, data: Uint8Array) => ZipInput | null): Uint8Array {
  const bytes = new Uint8Array(readFileSync(fixturePath('tiny', 'model.pt')));
  const entries = [...readZipIndex(bytes).values()].map((entry) => {
    const data = readZipEntry(bytes, entry, entry.size);
    return replace(entry.name, data) ?? { name: entry.name, data };
  });
  return writeZip(entries);
}

/** The tiny model's tensors as safetensors, each F32 at its own offsets unless `edit` changes the entry. */
function tinySafetensors(
  edit: (entry: RawSafetensor, values: Float32Array, all: RawSafetensor[]) => Uint8Array | void,
): Uint8Array {
  const entries: RawSafetensor[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const { name, shape, values } of tinyTensors) {
    const entry: RawSafetensor = { name, dtype: 'F32', shape, offsets: [offset, offset + values.byteLength] };
    const bytes =
      edit(entry, values, entries) ??
      new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    if (entry.offsets[0] === offset) {
      entry.offsets = [offset, offset + bytes.length];
      chunks.push(bytes);
      offset += bytes.length;
    }
    entries.push(entry);
  }
  return writeRawSafetensors(entries, new Uint8Array(Buffer.concat(chunks)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'e2v-hostile-'));
  good = join(dir, 'good');
  mkdirSync(good);
  for (const file of ['config.yaml', 'model.pt', 'tokens.txt'])
    copyFileSync(fixturePath('tiny', file), join(good, file));
  goodWav = join(dir, 'good.wav');
  copyFileSync(fixturePath('audio', 'chirp16k.wav'), goodWav);

  const contents = await readModelContents(good);
  tinyTensors = [...contents.weights.tensors].map(([name, entry]) => ({
    name,
    shape: [...entry.shape],
    values: entry.read().slice(),
  }));
  converted = join(dir, 'converted');
  mkdirSync(converted);
  const network = new Emotion2VecNetwork(contents.definition);
  await writeConvertedModel(
    {
      definition: contents.definition,
      modelConf: contents.modelConf,
      weights: contents.weights,
      parameters: network.params.specs(),
      sourceFile: 'model.pt',
    },
    async (name, bytes) => writeFileSync(join(converted, name), bytes),
  );
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile inputs, each in a child process running the real CLI', () => {
  it('audio batch: /dev/zero symlink, FIFO, self-contradicting WAV header are refused at once; the good inputs around them are answered; nothing is written outside --output-dir', async () => {
    const zero = join(dir, 'zero.wav');
    symlinkSync('/dev/zero', zero);
    const fifo = join(dir, 'fifo.wav');
    execFileSync('mkfifo', [fifo]);
    const sevenBit = join(dir, 'seven-bit.wav');
    const wav = Buffer.from(readFileSync(goodWav));
    wav.writeUInt16LE(7, 34); // bits per sample: 7, over the file's 16-bit blocks
    writeFileSync(sevenBit, wav);
    const good2 = join(dir, 'good2.wav');
    copyFileSync(goodWav, good2);
    const out = join(dir, 'out');
    const before = new Set(filesUnder(dir));

    const run = await runCli([
      'analyze',
      '--model',
      good,
      '--json',
      '--output-dir',
      out,
      goodWav,
      zero,
      fifo,
      sevenBit,
      good2,
    ]);
    expectBounded(run);
    const records = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { input: string; emotion?: unknown; error?: { code: string } });
    expect(records.map((r) => r.error?.code ?? 'ok')).toEqual([
      'ok',
      'FILE_NOT_REGULAR',
      'FILE_NOT_REGULAR',
      'AUDIO_DECODE',
      'ok',
    ]);
    expect(records[0]!.emotion).toBeTruthy();
    expect(run.code).toBe(1);
    const written = filesUnder(dir).filter((name) => !before.has(name) && !name.startsWith('report-'));
    expect(written.length).toBeGreaterThan(0);
    for (const name of written) expect(relative(out, join(dir, name)).startsWith('..'), name).toBe(false);
  }, 200_000);

  it('decode bombs with analyze --max-duration: a 260 KB FLAC of 40 hours (4.6 GB of samples) and the same in Matroska (read by ffmpeg) end with AUDIO_TOO_LONG; the good file beside them is answered', async () => {
    const flac = join(dir, 'forty-hours.flac');
    writeFileSync(flac, silentFlac(40 * 3600, 8000));
    const inputs = [goodWav, flac];
    if (HAS_FFMPEG) {
      const mka = join(dir, 'forty-hours.mka');
      execFileSync('ffmpeg', ['-loglevel', 'error', '-i', flac, '-c:a', 'copy', mka]);
      inputs.push(mka);
    }
    const run = await runCli([
      'analyze',
      '--model',
      good,
      '--json',
      '--no-output',
      '--max-duration',
      '1200',
      ...inputs,
    ]);
    expectBounded(run);
    const codes = run.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { error?: { code: string } }).error?.code ?? 'ok');
    expect(codes).toEqual(['ok', ...inputs.slice(1).map(() => 'AUDIO_TOO_LONG')]);
    expect(run.code).toBe(1);
  }, 200_000);

  it('config.yaml that is a FIFO: FILE_NOT_REGULAR, no hang', async () => {
    const folder = variant(good, 'config-fifo', { 'config.yaml': null });
    execFileSync('mkfifo', [join(folder, 'config.yaml')]);
    await expectModelRefused(folder, 'FILE_NOT_REGULAR', /config\.yaml.* is a FIFO/);
  }, 200_000);

  it('a converted shard that is a symlink to /dev/zero: FILE_NOT_REGULAR', async () => {
    const shard = readdirSync(converted).find((name) => name.endsWith('.bin'))!;
    const folder = variant(converted, 'shard-zero', { [shard]: null });
    symlinkSync('/dev/zero', join(folder, shard));
    await expectModelRefused(folder, 'FILE_NOT_REGULAR', /character device/);
  }, 200_000);

  it('model.json listing one shard 100,000 times: CHECKPOINT_FORMAT before any shard is read twice', async () => {
    const manifest = JSON.parse(readFileSync(join(converted, 'model.json'), 'utf8'));
    manifest.weightsManifest[0].paths = Array.from({ length: 100_000 }, () => manifest.weightsManifest[0].paths[0]);
    await expectModelRefused(
      variant(converted, 'shard-repeated', { 'model.json': JSON.stringify(manifest) }),
      'CHECKPOINT_FORMAT',
      /listed more than once/,
    );
  }, 200_000);

  it('model.pt whose storage entry inflates to 3 GiB, declared: CHECKPOINT_LIMIT before inflating', async () => {
    const bomb = zeroBomb(3072);
    const pt = tinyZipWith((name) =>
      name === 'model/data/0' ? { name, deflated: bomb, declaredSize: 3 * 2 ** 30 } : null,
    );
    expect(pt.length).toBeLessThan(8 * 2 ** 20);
    await expectModelRefused(
      variant(good, 'zip-bomb', { 'model.pt': pt }),
      'CHECKPOINT_LIMIT',
      /declares 3221225472 bytes/,
    );
  }, 200_000);

  it('model.pt whose storage entry inflates to 3 GiB but claims its true size: only the bytes the tensor needs are inflated (a harmless load)', async () => {
    const bomb = zeroBomb(3072);
    const pt = tinyZipWith((name, data) =>
      name === 'model/data/0' ? { name, deflated: bomb, declaredSize: data.length } : null,
    );
    const run = await runCli([
      'analyze',
      '--model',
      variant(good, 'zip-bomb-lying', { 'model.pt': pt }),
      '--json',
      '--no-output',
      goodWav,
    ]);
    expectBounded(run);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).emotion).toBeTruthy();
  }, 200_000);

  it('a pickle whose key is a shared tuple graph 40 levels deep: CHECKPOINT_FORMAT, never stringified', async () => {
    const pt = tinyZipWith((name) => (name === 'model/data.pkl' ? { name, data: sharedTupleKeyPickle(40) } : null));
    await expectModelRefused(
      variant(good, 'pickle-graph', { 'model.pt': pt }),
      'CHECKPOINT_FORMAT',
      /No tensors found.*<an array of 2/,
    );
  }, 200_000);

  it('a pickle nesting lists a million levels deep (the worst data.pkl under its 2 MiB bound): CHECKPOINT_FORMAT; a bigger one: CHECKPOINT_LIMIT', async () => {
    const deep = tinyZipWith((name) =>
      name === 'model/data.pkl' ? { name, data: nestedListPickle(1_048_000) } : null,
    );
    await expectModelRefused(
      variant(good, 'pickle-deep', { 'model.pt': deep }),
      'CHECKPOINT_FORMAT',
      /holds a list of 1 items/,
    );
    const big = tinyZipWith((name) => (name === 'model/data.pkl' ? { name, data: nestedListPickle(1_100_000) } : null));
    expect(() => readCheckpoint(big, 'big.pt')).toThrow(expect.objectContaining({ code: 'CHECKPOINT_LIMIT' }));
  }, 200_000);

  it("config.yaml feature_encoder_spec '[(64,10,5)] * 999999999': CONFIG_INVALID, not an abort", async () => {
    const yaml = readFileSync(join(good, 'config.yaml'), 'utf8').replace(
      /feature_encoder_spec:.*/,
      "feature_encoder_spec: '[(64,10,5)] * 999999999'",
    );
    await expectModelRefused(
      variant(good, 'spec-bomb', { 'config.yaml': yaml }),
      'CONFIG_INVALID',
      /it has 999999999 layers/,
    );
  }, 200_000);

  it('config.yaml depth: 1000000 -> CONFIG_INVALID with a short message; deep nesting -> CONFIG_INVALID', async () => {
    const yaml = readFileSync(join(good, 'config.yaml'), 'utf8');
    expect(yaml).toMatch(/\n {2}depth: \d+/);
    await expectModelRefused(
      variant(good, 'depth-bomb', { 'config.yaml': yaml.replace(/\n {2}depth: \d+/, '\n  depth: 1000000') }),
      'CONFIG_INVALID',
      /depth is 1000000; at most/,
    );
    const nested = `${yaml}\nextra: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    await expectModelRefused(
      variant(good, 'deep-yaml', { 'config.yaml': nested }),
      'CONFIG_INVALID',
      /not valid YAML|nests values/,
    );
  }, 300_000);

  it('float16 Inf in a weight: CHECKPOINT_NOT_FINITE at load, and convert writes nothing', async () => {
    const st = tinySafetensors((entry, values) => {
      if (entry.name !== tinyTensors[0]!.name) return;
      entry.dtype = 'F16';
      const half = new Uint16Array(values.length); // zeros...
      half[1] = 0x7c00; // ...and one +Inf
      return new Uint8Array(half.buffer);
    });
    const folder = variant(good, 'f16-inf', { 'model.pt': null, 'model.safetensors': st });
    await expectModelRefused(folder, 'CHECKPOINT_NOT_FINITE', /non-finite value.*Infinity, at element 1/);
    const out = join(dir, 'f16-inf-converted');
    const run = await runCli(['convert', folder, '--out', out]);
    expectBounded(run);
    expect(run.stderr).toContain('error CHECKPOINT_NOT_FINITE:');
    expect(run.code).toBe(2);
    expect(filesUnder(out).filter((name) => name === 'model.json')).toEqual([]);
  }, 300_000);

  it('safetensors tensors aliasing the same bytes: CHECKPOINT_FORMAT', async () => {
    const st = tinySafetensors((entry, values, previous) => {
      const twin = previous.find((p) => p.dtype === 'F32' && p.offsets[1] - p.offsets[0] === values.byteLength);
      if (twin) entry.offsets = [...twin.offsets];
    });
    await expectModelRefused(
      variant(good, 'aliased', { 'model.pt': null, 'model.safetensors': st }),
      'CHECKPOINT_FORMAT',
      /overlap/,
    );
  }, 200_000);

  it('a safetensors header declaring a span too short for its shape (it would read the next tensor): CHECKPOINT_FORMAT', async () => {
    const st = tinySafetensors((entry) => {
      if (entry.name !== tinyTensors[0]!.name) return;
      // One more row than the bytes it spans hold.
      entry.shape = [entry.shape[0]! + 1, ...entry.shape.slice(1)];
    });
    await expectModelRefused(
      variant(good, 'short-span', { 'model.pt': null, 'model.safetensors': st }),
      'CHECKPOINT_FORMAT',
      /spans \d+ bytes instead of \d+/,
    );
  }, 200_000);

  it('an empty tokens.txt beside a 9-way head: CONFIG_INVALID naming both counts', async () => {
    await expectModelRefused(
      variant(good, 'empty-tokens', { 'tokens.txt': '' }),
      'CONFIG_INVALID',
      /lists 0 label\(s\) but .* has 9 outputs/,
    );
  }, 200_000);

  it('model.json: labels that are not strings -> CONFIG_INVALID; [null] groups -> CHECKPOINT_FORMAT; 100,000-deep modelConf -> CHECKPOINT_FORMAT', async () => {
    const manifest = readFileSync(join(converted, 'model.json'), 'utf8');
    const edit = (change: (m: Record<string, unknown>) => void): string => {
      const m = JSON.parse(manifest) as Record<string, unknown>;
      change(m);
      return JSON.stringify(m);
    };
    await expectModelRefused(
      variant(converted, 'tokens-numbers', {
        'model.json': edit((m) => (m.tokens = (m.tokens as string[]).map((_, i) => i))),
      }),
      'CONFIG_INVALID',
      /label 1 is 0/,
    );
    await expectModelRefused(
      variant(converted, 'manifest-null', { 'model.json': edit((m) => (m.weightsManifest = [null])) }),
      'CHECKPOINT_FORMAT',
      /weightsManifest\[0\] is null/,
    );
    const deep = manifest.replace(
      '"modelConf": {',
      `"modelConf": { "deep": ${'['.repeat(100_000)}${']'.repeat(100_000)},`,
    );
    await expectModelRefused(
      variant(converted, 'manifest-deep', { 'model.json': deep }),
      'CHECKPOINT_FORMAT',
      /nests values more than 64/,
    );
  }, 400_000);

  it('convert --out naming an existing file: OUTPUT_WRITE_FAILED, the file untouched', async () => {
    const file = join(dir, 'existing-file');
    writeFileSync(file, 'keep me');
    const run = await runCli(['convert', good, '--out', file]);
    expectBounded(run);
    expect(run.stderr).toContain('error OUTPUT_WRITE_FAILED:');
    expect(run.code).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  }, 200_000);
});

describe('hostile inputs checked in process (no CLI needed to reach them)', () => {
  const storage = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  const read = (shape: number[], stride: number[], offset: number) =>
    readCheckpoint(torchCheckpoint(tensorPickle(shape, stride, offset, 6), storage), 'view.pt')
      .tensors.get('w')!
      .read();

  it('torch views: a transpose reads right; negative strides, offsets before or views past their storage are CHECKPOINT_LIMIT', () => {
    expect(Array.from(read([3, 2], [1, 3], 0))).toEqual([1, 4, 2, 5, 3, 6]);
    for (const [shape, stride, offset] of [
      [[3], [-1], 2],
      [[2], [1], -1],
      [[3], [1], 4],
      [[2, 2], [4, 2], 0],
    ] as const) {
      expect(() => read([...shape], [...stride], offset)).toThrow(
        expect.objectContaining({ code: 'CHECKPOINT_LIMIT' }),
      );
    }
  });

  it('a file name that is not valid UTF-8 is FILE_NAME_ENCODING, not "not found"', async () => {
    const raw = Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.wav')]);
    writeFileSync(raw, readFileSync(goodWav));
    const lossy = readdirSync(dir).find((name) => name.startsWith('bad-'))!;
    expect(lossy).toContain('\uFFFD');
    const model = await Emotion2Vec.load(good, { backend: 'wasm' });
    try {
      const error = await model.predict(join(dir, lossy)).catch((e: unknown) => e);
      expect(isEmotion2VecError(error) && error.code).toBe('FILE_NAME_ENCODING');
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('the legacy-format message recommends torch.load(..., weights_only=True)', () => {
    expect(() => readCheckpoint(new Uint8Array([0x80, 0x02, 0x8a, 0x0a]), 'old.pt')).toThrow(/weights_only=True/);
  });
});
