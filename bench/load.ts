/**
 * Load time and peak memory of a model, each load in its own Node process (peak RSS =
 * process.resourceUsage().maxRSS of that process, so loads never share a heap), rounds interleaved so that a busy
 * machine slows every variant alike. Variants: converted folders per stored type (`convert --dtype`), and with
 * `--formats` the checkpoint as a torch zip (`model.pt`, as torch.save writes it: entries stored, 64-byte aligned).
 *
 *   npx tsx bench/load.ts                                  # base shape: float32, float16, int8; 3 rounds
 *   npx tsx bench/load.ts --shape large --dtypes float32 --formats converted,pt --rounds 3
 *   git archive <commit> src weights package.json | tar -x -C .scratch/before  # an earlier reader, as "before"
 *   npx tsx bench/load.ts --before .scratch/before/src --before-folder-version 1
 *
 * Inputs are written once into .bench-cache/load/<shape>-<variant> from the synthetic weights (kept out of git).
 * A "before" reader that only reads converted format 1 is given a format-1 copy of the float32 folder.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    shape: { type: 'string', default: 'base' },
    dtypes: { type: 'string', default: 'float32,float16,int8' },
    formats: { type: 'string', default: 'converted' },
    before: { type: 'string' },
    write: { type: 'string' },
    // Internal: one measured load, in this process.
    child: { type: 'string' },
    src: { type: 'string', default: 'src' },
  },
});

type Shape = 'base' | 'large';
type DType = 'float32' | 'float16' | 'int8';

interface Measurement {
  readonly loadMs: number;
  readonly maxRssMiB: number;
}

/** One thing to load: a folder, the readers that are measured on it, and its bytes on disk. */
interface Input {
  readonly label: string;
  readonly folder: string;
  readonly readers: readonly ('before' | 'after')[];
  readonly mib: number;
}

if (args.child) {
  const { Emotion2Vec } = (await import(resolve(args.src, 'node.js'))) as typeof import('../src/node.js');
  const started = performance.now();
  const model = await Emotion2Vec.load(args.child);
  const loadMs = performance.now() - started;
  model.dispose();
  const measurement: Measurement = { loadMs, maxRssMiB: process.resourceUsage().maxRSS / 1024 };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
} else {
  await main();
}

async function main(): Promise<void> {
  const shape = args.shape as Shape;
  const formats = args.formats.split(',');
  const inputs: Input[] = [];
  if (formats.includes('converted')) {
    for (const dtype of args.dtypes.split(',') as DType[]) {
      const folder = await convertedFolder(shape, dtype);
      inputs.push({ label: `converted ${dtype}`, folder, readers: ['after'], mib: binMiB(folder) });
      if (dtype === 'float32') {
        // Format 1 (PyTorch layout, as converted before format 3): what an older reader can read, and what old folders
        // hold.
        const old = formatOneCopy(folder);
        inputs.push({
          label: 'converted float32, format 1',
          folder: old,
          readers: args.before ? ['before', 'after'] : ['after'],
          mib: binMiB(old),
        });
      }
    }
  }
  if (formats.includes('pt')) {
    const folder = await torchZipFolder(shape);
    inputs.push({
      label: 'model.pt',
      folder,
      readers: args.before ? ['before', 'after'] : ['after'],
      mib: statSync(join(folder, 'model.pt')).size / 2 ** 20,
    });
  }

  const results = new Map<string, Measurement[]>();
  const loads: number[] = [];
  for (let round = 0; round < Number(args.rounds); round++) {
    for (const input of inputs) {
      for (const reader of input.readers) {
        loads.push(loadavg()[0]!);
        const src = reader === 'before' ? args.before! : 'src';
        const output = execFileSync(
          process.execPath,
          ['--import', 'tsx', 'bench/load.ts', '--child', input.folder, '--src', src],
          { encoding: 'utf8' },
        );
        const measurement = JSON.parse(output.trim().split('\n').pop()!) as Measurement;
        const key = `${reader}|${input.label}|${input.mib.toFixed(0)}`;
        results.set(key, [...(results.get(key) ?? []), measurement]);
        console.log(
          `round ${round + 1} ${reader} ${input.label}: load ${measurement.loadMs.toFixed(0)} ms, peak RSS ${measurement.maxRssMiB.toFixed(0)} MiB`,
        );
      }
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const lines = [
    '',
    `### Loading a ${shape}-shaped model (${new Date().toISOString().slice(0, 16)}Z, bench/load.ts, ${args.rounds} rounds interleaved, median; 1-min load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)})`,
    '',
    '| reader | input | MiB on disk | load (ms) | peak RSS (MiB) | runs (ms) |',
    '|---|---|---:|---:|---:|---|',
    ...[...results].map(([key, ms]) => {
      const [reader, label, mib] = key.split('|');
      return `| ${reader} | ${label} | ${mib} | ${median(ms.map((m) => m.loadMs)).toFixed(0)} | ${median(ms.map((m) => m.maxRssMiB)).toFixed(0)} | ${ms.map((m) => m.loadMs.toFixed(0)).join(', ')} |`;
    }),
    '',
  ];
  console.log(lines.join('\n'));
  if (args.write) appendFileSync(args.write, lines.join('\n'));
}

function binMiB(folder: string): number {
  return (
    readdirSync(folder)
      .filter((name) => name.endsWith('.bin'))
      .reduce((sum, name) => sum + statSync(join(folder, name)).size, 0) /
    2 ** 20
  );
}

/** The synthetic `shape` model converted as `dtype`, written once into .bench-cache/load/<shape>-<dtype>. */
async function convertedFolder(shape: Shape, dtype: DType): Promise<string> {
  const folder = join('.bench-cache', 'load', `${shape}-${dtype}`);
  if (!existsSync(join(folder, 'model.json'))) {
    const { convertedFiles } = await import('../test/support/converted-files.js');
    mkdirSync(folder, { recursive: true });
    const files = await convertedFiles(shape, dtype);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(folder, name), bytes);
  }
  return folder;
}

/** A format-1 copy of a float32 format-3 folder: transposed matrices turned back, the `layout` fields dropped. */
function formatOneCopy(folder: string): string {
  const target = `${folder}-format1`;
  if (existsSync(join(target, 'model.json'))) return target;
  mkdirSync(target, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  const group = manifest.weightsManifest[0] as { paths: string[]; weights: { shape: number[]; layout?: string }[] };
  const shards = group.paths.map((path) => readFileSync(join(folder, path)));
  const all = Buffer.concat(shards);
  let offset = 0;
  for (const weight of group.weights) {
    const count = weight.shape.reduce((a, b) => a * b, 1);
    if (weight.layout === 'transposed') {
      const [rows, columns] = weight.shape as [number, number];
      const stored = new Float32Array(all.buffer.slice(all.byteOffset + offset, all.byteOffset + offset + count * 4));
      const pytorch = new Float32Array(count);
      for (let c = 0; c < columns; c++) for (let r = 0; r < rows; r++) pytorch[r * columns + c] = stored[c * rows + r]!;
      Buffer.from(pytorch.buffer).copy(all, offset);
      delete weight.layout;
    }
    offset += count * 4;
  }
  manifest.formatVersion = 1;
  let at = 0;
  for (const [i, path] of group.paths.entries()) {
    writeFileSync(join(target, path), all.subarray(at, at + shards[i]!.length));
    at += shards[i]!.length;
  }
  writeFileSync(join(target, 'model.json'), JSON.stringify(manifest));
  return target;
}

/**
 * The synthetic `shape` model as a checkpoint folder with a torch zip model.pt laid out as torch.save writes it:
 * every storage a stored (uncompressed) entry whose data starts on a 64-byte boundary.
 */
async function torchZipFolder(shape: Shape): Promise<string> {
  const folder = join('.bench-cache', 'load', `${shape}-pt`);
  if (existsSync(join(folder, 'model.pt'))) return folder;
  const { syntheticWeights, fixturePath } = await import('../test/support/fixtures.js');
  const { writeZip } = await import('../test/hostile/make.js');
  mkdirSync(folder, { recursive: true });
  for (const file of ['config.yaml', 'tokens.txt']) copyFileSync(fixturePath(shape, file), join(folder, file));
  const tensors = [...syntheticWeights(shape)].map(([name, entry]) => ({
    name,
    shape: [...entry.shape],
    data: new Uint8Array(entry.read().buffer),
  }));
  // Keys padded so that each entry's data starts 64-byte aligned (local header 30 bytes + the entry's name).
  const pickleFor = (keys: string[]) =>
    statePickle(tensors.map((t, i) => ({ name: t.name, key: keys[i]!, shape: t.shape })));
  let keys = tensors.map((_, i) => String(i));
  for (let pass = 0; pass < 2; pass++) {
    const pickle = pickleFor(keys);
    let offset = 30 + 'archive/data.pkl'.length + pickle.length + 30 + 'archive/byteorder'.length + 'little'.length;
    keys = tensors.map((t, i) => {
      let key = String(i);
      while ((offset + 30 + `archive/data/${key}`.length) % 64 !== 0) key = `0${key}`;
      offset += 30 + `archive/data/${key}`.length + t.data.length;
      return key;
    });
  }
  const zip = writeZip([
    { name: 'archive/data.pkl', data: pickleFor(keys) },
    { name: 'archive/byteorder', data: new TextEncoder().encode('little') },
    ...tensors.map((t, i) => ({ name: `archive/data/${keys[i]}`, data: t.data })),
  ]);
  writeFileSync(join(folder, 'model.pt'), zip);
  return folder;
}

/** `{name: tensor}` pickled as torch.save does (protocol 2, persistent ids for the storages). */
function statePickle(tensors: { name: string; key: string; shape: number[] }[]): Uint8Array {
  const out: number[] = [0x80, 2, '}'.charCodeAt(0)];
  const op = (code: string) => out.push(code.charCodeAt(0));
  const text = (value: string) => {
    const bytes = Buffer.from(value);
    op('X');
    int32(bytes.length);
    out.push(...bytes);
  };
  const int32 = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    out.push(...b);
  };
  const int = (value: number) => (op('J'), int32(value));
  const global = (module: string, name: string) => (op('c'), out.push(...Buffer.from(`${module}\n${name}\n`)));
  const tuple = (values: number[]) => (op('('), values.forEach(int), op('t'));
  for (const { name, key, shape } of tensors) {
    const count = shape.reduce((a, b) => a * b, 1);
    const stride = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
    text(name);
    global('torch._utils', '_rebuild_tensor_v2');
    op('(');
    op('(');
    text('storage');
    global('torch', 'FloatStorage');
    text(key);
    text('cpu');
    int(count);
    op('t');
    op('Q');
    int(0);
    tuple(shape);
    tuple(stride);
    op('\x89');
    global('collections', 'OrderedDict');
    op(')');
    op('R');
    op('t');
    op('R');
    op('s');
  }
  op('.');
  return new Uint8Array(out);
}
