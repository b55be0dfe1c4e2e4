/**
 * `npm run bench:peers`: this package beside its peers on the same machine, in one run: the same weights, the same
 * audio, 2 threads each, every runtime in its own process, interleaved round by round, medians of the rounds.
 *
 *   npm run bench:peers                                    # base, large, large-per-layer; 10 s; 3 rounds
 *   npm run bench:peers -- --models base --seconds 5 --rounds 1
 *   npm run bench:peers -- --funasr ~/src/FunASR           # also upstream FunASR's model code, from your checkout
 *   npm run bench:peers -- --write bench/RESULTS.md        # also append the tables there
 *   npm run bench:peers -- --models base --seconds 2 --rounds 1 --runtimes package-float32,package-int8  # smoke
 *   npm run bench:peers -- --help                          # this text
 *
 * Rows (`--runtimes`, all by default):
 *   package-float32  this package on its default Node backend (threaded wasm, EMOTION2VEC_WASM_THREADS=2), loading
 *                    a folder made by `emotion2vec convert` (float32), `compute: 'float32'`
 *   package-int8     the same on a folder converted with `--dtype int8`, `compute: 'int8'` (int8 products on wasm;
 *                    the row fails rather than time float32 compute if the package falls back to it)
 *   torch            bench/torch_reference.py: our own plain-PyTorch version of the graph, torch.set_num_threads(2)
 *   funasr           upstream FunASR's Emotion2vec class from the checkout named by --funasr
 *                    (bench/funasr_upstream.py);
 *                    skipped with a note without one (FunASR's code is never part of this project)
 *   ort-node         onnxruntime-node (native CPU, 2 intra-op threads) on an ONNX export of torch_reference.py's module
 *   ort-web          onnxruntime-web (wasm, 2 threads) in Node, on the same ONNX file
 *
 * Models: base and large (the fixtures' synthetic weights) and `<name>-per-layer` (one ALiBi scale per block, see
 * bench/models.ts). Per model, in a temporary folder: the checkpoint (config.yaml, tokens.txt, model.safetensors)
 * that every runtime reads, the two converted folders, and the ONNX export (torch.onnx.export of
 * bench/torch_reference.py's module, dynamic length), checked with onnxruntime-node against the reference before
 * anything is timed. The reference is the fixture's upstream output, or for a per-layer model (which the fixtures
 * lack) torch_reference.py's own output. Every process first checks its output on that input (max |diff| in the
 * table), then runs one warm-up and `--runs` timed passes on `--seconds` of `npm run bench`'s seeded audio.
 *
 * onnxruntime-node and -web are not dependencies of this package: on first use they are installed into
 * .bench-cache/peers (`npm install --ignore-scripts`, versions pinned below; onnxruntime-node's CPU binary ships in
 * the package, the install script only fetches GPU providers), and their rows are skipped with a note when that
 * fails (offline). The Python rows need torch, numpy and PyYAML (PYTHON picks the interpreter). CI never runs this.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeNpy } from '../src/io/npy.js';
import { fixturePath, maxAbsDiff, randomArray } from '../test/support/fixtures.js';
import { forwardFlops } from './flops.js';
import type { BenchModelName } from './models.js';

const ORT_NODE_VERSION = '1.30.0';
const ORT_WEB_VERSION = '1.31.1';
const PEER_PACKAGES = join('.bench-cache', 'peers');

const RUNTIMES = ['package-float32', 'package-int8', 'torch', 'funasr', 'ort-node', 'ort-web'] as const;
type RuntimeId = (typeof RUNTIMES)[number];

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'base,large,large-per-layer' },
    runtimes: { type: 'string', default: RUNTIMES.join(',') },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    funasr: { type: 'string' },
    write: { type: 'string' },
    help: { type: 'boolean', default: false },
    // Internal: one measured process, or the preparation of a model's files.
    child: { type: 'string' },
    model: { type: 'string' },
    dir: { type: 'string' },
    target: { type: 'string' },
    reference: { type: 'string' },
    compute: { type: 'string' },
  },
});

const SAMPLE_RATE = 16000;
const SCRIPT = fileURLToPath(import.meta.url);
const BENCH = fileURLToPath(new URL('.', import.meta.url));
/** The input every runtime checks its output on (a fixture input; per-layer models get their own reference). */
const PARITY_INPUT = 'speech16k';
/** ONNX export vs the reference, frames: the fixtures' float32 bar for base and large. */
const ONNX_FRAMES_BAR = 5e-4;
const seconds = Number(args.seconds);
const threads = Number(args.threads);

/** What every measured process prints (its last stdout line, as JSON). */
interface Measurement {
  readonly version: string;
  readonly threads: string;
  readonly loadMs: number;
  readonly runMs: number | null;
  readonly peakRssMiB: number;
  readonly framesDiff: number | null;
  readonly scoresDiff: number | null;
}

/** A model's files for one run, in a temporary folder. */
interface PreparedModel {
  readonly name: BenchModelName;
  readonly fixture: string;
  readonly checkpoint: string;
  readonly converted: Record<'float32' | 'int8', string>;
  /** Folder of <input>.wave16k/frames/scores.npy, or null when none could be made (per-layer without torch). */
  readonly reference: string | null;
  readonly referenceLabel: string;
  readonly onnx: string | null;
  readonly notes: string[];
}

interface Row {
  readonly runtime: RuntimeId;
  readonly measurements: Measurement[];
  readonly loadAverages: number[];
  readonly failures: string[];
  readonly skipped?: string;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

// --- measured processes ------------------------------------------------------------------------------------------

function readReference(folder: string): { wave: Float32Array; frames: Float32Array; scores: Float32Array } {
  const read = (name: string) => decodeNpy(readFileSync(join(folder, `${PARITY_INPUT}.${name}.npy`))).data;
  return { wave: read('wave16k'), frames: read('frames'), scores: read('scores') };
}

const benchAudio = () => randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1);

/** Load, check on the reference input, one warm-up, `--runs` timed passes; returns the median pass. */
async function measure(
  load: () => Promise<(wave: Float32Array) => Promise<{ frames: ArrayLike<number>; scores: ArrayLike<number> }>>,
): Promise<Pick<Measurement, 'loadMs' | 'runMs' | 'framesDiff' | 'scoresDiff'>> {
  let start = performance.now();
  const run = await load();
  const loadMs = performance.now() - start;
  let framesDiff: number | null = null;
  let scoresDiff: number | null = null;
  if (args.reference) {
    const reference = readReference(args.reference);
    const out = await run(reference.wave);
    framesDiff = maxAbsDiff(out.frames, reference.frames);
    scoresDiff = maxAbsDiff(out.scores, reference.scores);
  }
  if (seconds <= 0) return { loadMs, runMs: null, framesDiff, scoresDiff };
  const audio = benchAudio();
  await run(audio);
  const times: number[] = [];
  for (let i = 0; i < Number(args.runs); i++) {
    start = performance.now();
    await run(audio);
    times.push(performance.now() - start);
  }
  return { loadMs, runMs: median(times), framesDiff, scoresDiff };
}

async function packageChild(folder: string, compute: 'float32' | 'int8'): Promise<Measurement> {
  const { Emotion2Vec } = await import('../src/node.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  const { int8ComputeInfo } = await import('../src/backend/wasm/int8-linear.js');
  let model: Awaited<ReturnType<typeof Emotion2Vec.load>> | undefined;
  const result = await measure(async () => {
    model = await Emotion2Vec.load(folder, { compute });
    if (model.compute !== compute)
      throw new Error(`asked to compute in ${compute}, the model computes in ${model.compute}`);
    return async (wave) => {
      const prediction = await model!.predict(wave, { granularity: 'frame', embedding: true });
      return { frames: prediction.embedding!.data, scores: prediction.scores };
    };
  });
  const pool = model!.backend === 'wasm' ? `wasm, ${getThreadsCount()} pool threads` : model!.backend;
  const info = compute === 'int8' ? int8ComputeInfo() : null;
  const kernels = info ? `, int8 ${info.variant} kernels on ${info.threads} threads` : '';
  const { version } = JSON.parse(readFileSync(join(BENCH, '..', 'package.json'), 'utf8')) as { version: string };
  model!.dispose();
  return {
    version: `emotion2vec-tfjs ${version}`,
    threads: `${pool}, ${compute} compute${kernels}`,
    ...result,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** The part of onnxruntime's API used here (the packages are not dependencies, so neither are their types). */
interface OnnxRuntime {
  readonly env: { wasm: { numThreads?: number } };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
  readonly InferenceSession: {
    create(
      path: string,
      options: Record<string, unknown>,
    ): Promise<{ run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown }>> }>;
  };
}

/** onnxruntime-node or -web, from .bench-cache/peers. */
async function onnxChild(which: 'onnxruntime-node' | 'onnxruntime-web', onnxFile: string): Promise<Measurement> {
  const require = createRequire(resolve(PEER_PACKAGES, 'package.json'));
  const ort = require(which) as OnnxRuntime;
  const options: Record<string, unknown> = { graphOptimizationLevel: 'all' };
  if (which === 'onnxruntime-node')
    Object.assign(options, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  else Object.assign(options, { executionProviders: ['wasm'] });
  if (which === 'onnxruntime-web') ort.env.wasm.numThreads = threads;
  const result = await measure(async () => {
    const session = await ort.InferenceSession.create(onnxFile, options);
    return async (wave) => {
      const out = await session.run({ waveform: new ort.Tensor('float32', wave, [wave.length]) });
      return { frames: out['frames']!.data as Float32Array, scores: out['scores']!.data as Float32Array };
    };
  });
  // Read from its folder: onnxruntime-web does not export its package.json.
  const { version } = JSON.parse(readFileSync(join(PEER_PACKAGES, 'node_modules', which, 'package.json'), 'utf8')) as {
    version: string;
  };
  const pool =
    which === 'onnxruntime-node'
      ? `native CPU, intraOpNumThreads ${threads}`
      : `wasm, env.wasm.numThreads ${ort.env.wasm.numThreads}`;
  return {
    version: `${which} ${version}`,
    threads: pool,
    ...result,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** The PyTorch scripts' JSON, in this file's terms. */
function fromPython(out: {
  torch: string;
  blas: string[];
  threads: number;
  weights_ms: number;
  parity?: { max_abs_diff: { frames: number; scores: number } };
  timing?: { median_ms: number };
  peak_rss_mib: number;
}): Measurement {
  // e.g. openblas-openmp/libblas.so.3 (Debian's alternatives) or blas/libblas.so.3 (the reference BLAS).
  const blas = out.blas.find((path) => /libblas|mkl/i.test(path)) ?? out.blas[0];
  const blasName = blas ? `${basename(dirname(blas))}/${basename(blas)}` : 'none mapped';
  return {
    version: `PyTorch ${out.torch}`,
    threads: `torch.set_num_threads(${out.threads}), BLAS ${blasName}`,
    loadMs: out.weights_ms,
    runMs: out.timing?.median_ms ?? null,
    peakRssMiB: out.peak_rss_mib,
    framesDiff: out.parity?.max_abs_diff.frames ?? null,
    scoresDiff: out.parity?.max_abs_diff.scores ?? null,
  };
}

// --- preparation -----------------------------------------------------------------------------------------------

/** The first interpreter that imports torch, numpy and yaml: $PYTHON, python3 on PATH, then Debian's own. */
function findPython(): string | null {
  const candidates = [process.env['PYTHON'], 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  return (
    candidates.find(
      (python) => spawnSync(python, ['-c', 'import torch, numpy, yaml'], { stdio: 'ignore' }).status === 0,
    ) ?? null
  );
}

/** onnxruntime-node and -web at the pinned versions in .bench-cache/peers, installed on first use; else why not. */
function ensurePeerPackages(): string | null {
  const installed = (name: string, version: string) => {
    const file = join(PEER_PACKAGES, 'node_modules', name, 'package.json');
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version === version;
  };
  if (installed('onnxruntime-node', ORT_NODE_VERSION) && installed('onnxruntime-web', ORT_WEB_VERSION)) return null;
  process.stderr.write(
    `installing onnxruntime-node@${ORT_NODE_VERSION} and onnxruntime-web@${ORT_WEB_VERSION} into ${PEER_PACKAGES}...\n`,
  );
  const command = [
    'install',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--no-save',
    '--prefix',
    PEER_PACKAGES,
    `onnxruntime-node@${ORT_NODE_VERSION}`,
    `onnxruntime-web@${ORT_WEB_VERSION}`,
  ];
  const result = spawnSync('npm', command, { encoding: 'utf8', timeout: 600_000 });
  if (result.status === 0 && installed('onnxruntime-node', ORT_NODE_VERSION)) return null;
  const why =
    `${result.stderr ?? ''}`
      .trim()
      .split('\n')
      .find((line) => line.includes('ERR')) ?? `exit ${result.status ?? result.signal}`;
  return `\`npm ${command.join(' ')}\` failed (${why.slice(0, 200)})`;
}

/** In a child process (so the parent stays small while others are measured): checkpoint and converted folders. */
async function prepareChild(name: BenchModelName, dir: string): Promise<void> {
  const { benchModel, convertFolder, writeCheckpointFolder } = await import('./models.js');
  writeCheckpointFolder(benchModel(name), join(dir, 'checkpoint'));
  for (const dtype of ['float32', 'int8'] as const)
    await convertFolder(join(dir, 'checkpoint'), join(dir, dtype), dtype);
}

function runChecked(
  command: string,
  commandArgs: string[],
  env: NodeJS.ProcessEnv = process.env,
): SpawnSyncReturns<string> {
  const result = spawnSync(command, commandArgs, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 2 ** 26,
    env,
  });
  if (result.status !== 0) {
    // The error's own line (not its stack), else the last line.
    const lines = `${result.stderr ?? ''}`.trim().split('\n');
    const why = lines.find((line) => /Error|error:/.test(line) && !/^\s+at /.test(line)) ?? lines.pop() ?? '';
    throw new Error(`exit ${result.status ?? result.signal}: ${why.trim().slice(0, 300)}`);
  }
  return result;
}

const lastJsonLine = <T>(stdout: string): T => JSON.parse(stdout.trim().split('\n').pop()!) as T;

/** This file as a measured (or preparing) process; `timedSeconds` 0: load and check only. */
function nodeChild(
  childArgs: string[],
  env: NodeJS.ProcessEnv = process.env,
  timedSeconds = seconds,
): SpawnSyncReturns<string> {
  return runChecked(
    process.execPath,
    [
      '--import',
      'tsx',
      SCRIPT,
      ...childArgs,
      '--seconds',
      String(timedSeconds),
      '--runs',
      args.runs,
      '--threads',
      String(threads),
    ],
    env,
  );
}

/** `wantOnnx`: onnxruntime rows were asked for and can run, so an ONNX export is needed. */
async function prepare(
  name: BenchModelName,
  dir: string,
  python: string | null,
  wantOnnx: boolean,
): Promise<PreparedModel> {
  const { benchModel } = await import('./models.js');
  const model = benchModel(name);
  process.stderr.write(`${name}: writing the checkpoint and converting it (float32, int8) in ${dir}...\n`);
  nodeChild(['--child', 'prepare', '--model', name, '--dir', dir]);
  const notes: string[] = [];
  const checkpoint = join(dir, 'checkpoint');
  let reference: string | null = model.perLayer ? null : fixturePath(model.fixture);
  let referenceLabel = model.perLayer ? 'none' : `upstream FunASR (test/fixtures/${model.fixture})`;
  let onnx: string | null = null;
  if (!python && (wantOnnx || model.perLayer)) {
    const missing = [
      wantOnnx ? 'no ONNX export (so no onnxruntime rows)' : '',
      model.perLayer ? 'no reference for this config' : '',
    ];
    notes.push(`No Python with torch, numpy and PyYAML: ${missing.filter(Boolean).join(', ')}.`);
  }
  if (python && (wantOnnx || model.perLayer)) {
    const made = [wantOnnx ? 'ONNX export' : '', model.perLayer ? 'reference outputs' : '']
      .filter(Boolean)
      .join(' and ');
    process.stderr.write(`${name}: ${made} with bench/torch_reference.py...\n`);
    const pythonArgs = [
      join(BENCH, 'torch_reference.py'),
      '--fixture',
      fixturePath(model.fixture),
      '--config',
      join(checkpoint, 'config.yaml'),
      '--weights',
      join(checkpoint, 'model.safetensors'),
    ];
    if (wantOnnx) pythonArgs.push('--export-onnx', join(dir, 'model.onnx'));
    if (model.perLayer) pythonArgs.push('--save-outputs', join(dir, 'reference'));
    try {
      runChecked(python, pythonArgs);
      if (wantOnnx) onnx = join(dir, 'model.onnx');
      if (model.perLayer) {
        reference = join(dir, 'reference');
        referenceLabel = 'bench/torch_reference.py (no upstream output for this config)';
      }
    } catch (error) {
      const lost = model.perLayer ? 'no ONNX export, no reference' : 'no ONNX export';
      notes.push(`bench/torch_reference.py failed (${(error as Error).message}): ${lost}.`);
    }
  }
  if (onnx && reference) {
    const check = lastJsonLine<Measurement>(
      nodeChild(['--child', 'ort-node', '--target', onnx, '--reference', reference], process.env, 0).stdout,
    );
    const diffs = `frames ${check.framesDiff!.toExponential(1)}, scores ${check.scoresDiff!.toExponential(1)}`;
    const line =
      'ONNX export (opset 16, dynamic length) checked with onnxruntime-node before timing: ' +
      `max |diff| ${diffs} vs ${referenceLabel}.`;
    process.stderr.write(`${name}: ${line}\n`);
    notes.push(line);
    if (!(check.framesDiff! <= ONNX_FRAMES_BAR)) {
      notes.push(`The ONNX output is off by more than ${ONNX_FRAMES_BAR}: onnxruntime rows not timed.`);
      onnx = null;
    }
  }
  return {
    name,
    fixture: model.fixture,
    checkpoint,
    converted: { float32: join(dir, 'float32'), int8: join(dir, 'int8') },
    reference,
    referenceLabel,
    onnx,
    notes,
  };
}

// --- one round of one runtime ----------------------------------------------------------------------------------

/** Why a runtime has no row for this model, or null when it can run. */
function skipReason(
  runtime: RuntimeId,
  model: PreparedModel,
  python: string | null,
  peerProblem: string | null,
): string | null {
  if ((runtime === 'torch' || runtime === 'funasr') && !python)
    return 'no Python with torch, numpy and PyYAML ($PYTHON, python3, /usr/bin/python3)';
  if (runtime === 'funasr' && !args.funasr)
    return 'no FunASR checkout given (`--funasr <path>`); FunASR is not part of this project';
  if (runtime.startsWith('ort-') && peerProblem) return `onnxruntime not installed: ${peerProblem}`;
  if (runtime.startsWith('ort-') && !model.onnx) return 'no ONNX export (see the notes)';
  return null;
}

function measureOnce(runtime: RuntimeId, model: PreparedModel, python: string): Measurement {
  const reference = model.reference ? ['--reference', model.reference] : [];
  switch (runtime) {
    case 'package-float32':
    case 'package-int8': {
      const dtype = runtime === 'package-int8' ? 'int8' : 'float32';
      return lastJsonLine(
        nodeChild(['--child', 'package', '--target', model.converted[dtype], '--compute', dtype, ...reference], {
          ...process.env,
          EMOTION2VEC_WASM_THREADS: String(threads),
        }).stdout,
      );
    }
    case 'ort-node':
    case 'ort-web':
      return lastJsonLine(nodeChild(['--child', runtime, '--target', model.onnx!, ...reference]).stdout);
    case 'torch':
    case 'funasr': {
      const timing = ['--seconds', String(seconds), '--runs', args.runs, '--threads', String(threads)];
      const check = model.reference ? ['--reference', model.reference, '--input', PARITY_INPUT] : [];
      const script =
        runtime === 'torch'
          ? [
              join(BENCH, 'torch_reference.py'),
              '--fixture',
              fixturePath(model.fixture),
              '--config',
              join(model.checkpoint, 'config.yaml'),
              '--weights',
              join(model.checkpoint, 'model.safetensors'),
              ...(model.reference ? ['--check'] : []),
            ]
          : [join(BENCH, 'funasr_upstream.py'), '--funasr', resolve(args.funasr!), '--checkpoint', model.checkpoint];
      const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
      return fromPython(lastJsonLine(runChecked(python, [...script, ...timing, ...check], env).stdout));
    }
  }
}

// --- the report --------------------------------------------------------------------------------------------------

const LABELS: Record<RuntimeId, string> = {
  'package-float32': 'this package, float32 (converted folder, float32 compute)',
  'package-int8': 'this package, int8 (`--dtype int8` folder, int8 compute)',
  torch: 'PyTorch, bench/torch_reference.py (our own graph)',
  funasr: 'PyTorch, upstream FunASR code',
  'ort-node': 'onnxruntime-node on the ONNX export',
  'ort-web': 'onnxruntime-web (wasm, in Node) on the ONNX export',
};

function table(model: PreparedModel, rows: Row[], flops: number): string {
  const header = [
    'runtime',
    'version, threads',
    'load (ms)',
    `${seconds} s audio (ms): median (min-max)`,
    'RTF',
    'GFLOP/s',
    'peak RSS (MiB)',
    'max abs diff vs reference: frames, scores',
    'load average (1 min)',
  ];
  const lines = rows.map((row) => {
    if (row.skipped) return [LABELS[row.runtime], `skipped: ${row.skipped}`, '', '', '', '', '', '', ''];
    if (row.measurements.length === 0)
      return [LABELS[row.runtime], `failed: ${row.failures[0] ?? ''}`, '', '', '', '', '', '', ''];
    const m = row.measurements;
    const runs = m.every((x) => x.runMs !== null) ? m.map((x) => x.runMs!) : null;
    const run = runs && median(runs);
    const diff = (value: number | null) => (value === null ? 'n/a' : value.toExponential(1));
    const failed =
      row.failures.length > 0
        ? ` (${row.failures.length} of ${row.failures.length + m.length} rounds failed: ${row.failures[0]})`
        : '';
    return [
      LABELS[row.runtime],
      `${m[0]!.version}; ${m[0]!.threads}${failed}`,
      median(m.map((x) => x.loadMs)).toFixed(0),
      runs === null ? 'n/a' : `${run!.toFixed(0)} (${Math.min(...runs).toFixed(0)}-${Math.max(...runs).toFixed(0)})`,
      run === null ? 'n/a' : (run / 1000 / seconds).toFixed(3),
      run === null ? 'n/a' : (flops / run / 1e6).toFixed(1),
      median(m.map((x) => x.peakRssMiB)).toFixed(0),
      `${diff(m[0]!.framesDiff)}, ${diff(m[0]!.scoresDiff)}`,
      `${Math.min(...row.loadAverages).toFixed(2)}-${Math.max(...row.loadAverages).toFixed(2)}`,
    ];
  });
  const own = model.referenceLabel.startsWith('bench/torch_reference.py') ? ' (so its own row shows 0)' : '';
  const caption = `Reference: ${model.referenceLabel}${own}, input ${PARITY_INPUT}.`;
  const rowsText = [header, header.map((_, i) => (i < 2 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
  return `${caption}\n\n${rowsText}`;
}

/** The usage at the top of this file, as text. */
function usage(): string {
  const comment = /\/\*\*\n([\s\S]*?)\n \*\//.exec(readFileSync(SCRIPT, 'utf8'))![1]!;
  return comment.replace(/^ \* ?/gm, '');
}

async function main(): Promise<void> {
  if (args.help) return void process.stdout.write(`${usage()}\n`);
  if (args.child) return child();
  // Imported here, not at the top: models.ts loads the package (src/node.js), whose Worker for tfjs' wasm threads
  // must not be in the onnxruntime-web processes.
  const { benchModel, isBenchModel } = await import('./models.js');
  const models = args.models.split(',');
  const runtimes = args.runtimes.split(',') as RuntimeId[];
  for (const name of models)
    if (!isBenchModel(name)) throw new Error(`unknown model ${name}: base, large, base-per-layer or large-per-layer`);
  for (const runtime of runtimes)
    if (!RUNTIMES.includes(runtime)) throw new Error(`unknown runtime ${runtime}: ${RUNTIMES.join(', ')}`);
  const python = findPython();
  // Why onnxruntime cannot run (null: installed, or not asked for).
  const peerProblem = runtimes.some((r) => r.startsWith('ort-')) ? ensurePeerPackages() : null;
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const sections: string[] = [];

  for (const name of models as BenchModelName[]) {
    const dir = mkdtempSync(join(tmpdir(), `e2v-peers-${name}-`));
    try {
      const model = await prepare(name, dir, python, !peerProblem && runtimes.some((r) => r.startsWith('ort-')));
      const definition = benchModel(name).definition;
      const flops = forwardFlops(definition.config, seconds * SAMPLE_RATE, definition.tokens.length);
      const rows = runtimes.map((runtime): Row => {
        const skipped = skipReason(runtime, model, python, peerProblem);
        return { runtime, measurements: [], loadAverages: [], failures: [], ...(skipped ? { skipped } : {}) };
      });
      for (let round = 1; round <= Number(args.rounds); round++) {
        for (const row of rows) {
          if (row.skipped) continue;
          const load = loadavg()[0]!;
          row.loadAverages.push(load);
          process.stderr.write(`${name}, round ${round}: ${row.runtime} (load average ${load.toFixed(2)})... `);
          try {
            const measurement = measureOnce(row.runtime, model, python!);
            row.measurements.push(measurement);
            const { loadMs, runMs, peakRssMiB } = measurement;
            process.stderr.write(
              `load ${loadMs.toFixed(0)} ms, run ${runMs?.toFixed(0) ?? 'n/a'} ms, ` +
                `peak RSS ${peakRssMiB.toFixed(0)} MiB\n`,
            );
          } catch (error) {
            row.failures.push((error as Error).message);
            process.stderr.write(`failed: ${(error as Error).message}\n`);
          }
        }
      }
      const c = definition.config;
      const share = (part: number) => ((100 * part) / flops.total).toFixed(1);
      const heading =
        `### ${name}: ${c.embedDim}-d, ${c.prenetDepth} + ${c.depth} blocks, ${c.numHeads} heads, ` +
        `ALiBi scale ${c.alibiScalePerLayer ? 'per block' : 'shared by all blocks'}; ` +
        `${(flops.total / 1e9).toFixed(1)} GFLOP per ${seconds} s pass ` +
        `(blocks ${share(flops.blocks)} %, CNN ${share(flops.cnn)} %)`;
      sections.push(
        [heading, '', table(model, rows, flops.total), '', ...model.notes.map((note) => `- ${note}`)].join('\n'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const machine = `${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const loads = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const report = [
    `Measured ${startedAt.toISOString().slice(0, 16)}Z-${new Date().toISOString().slice(11, 16)}Z on ${machine}; ` +
      `\`npm run bench:peers -- ${process.argv.slice(2).join(' ')}\`. ` +
      `Load average (1 / 5 / 15 min) ${loads(loadAtStart)} at the start, ${loads(loadavg())} at the end. ` +
      `${args.rounds} round(s), every runtime once per round in its own process, interleaved; each process: load, ` +
      `a check on the reference input, one warm-up, ${args.runs} timed pass(es) on ${seconds} s of the seeded audio; ` +
      `medians over rounds. ${threads} threads each. GFLOP/s = the pass's FLOP count (bench/flops.ts) over its time; ` +
      `peak RSS = the process's maxrss; load = weights ready (the package: \`Emotion2Vec.load\` of the folder; ` +
      `PyTorch: weights read (and the model built, FunASR); onnxruntime: \`InferenceSession.create\`).`,
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  if (args.write) appendFileSync(args.write, `\n${report}`);
}

async function child(): Promise<void> {
  let measurement: Measurement;
  switch (args.child) {
    case 'prepare':
      return prepareChild(args.model as BenchModelName, args.dir!);
    case 'package':
      measurement = await packageChild(args.target!, args.compute === 'int8' ? 'int8' : 'float32');
      break;
    case 'ort-node':
    case 'ort-web':
      measurement = await onnxChild(args.child === 'ort-node' ? 'onnxruntime-node' : 'onnxruntime-web', args.target!);
      break;
    default:
      throw new Error(`unknown child ${args.child}`);
  }
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
  // onnxruntime-web's wasm threads would keep Node alive.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
