/**
 * `npm run bench:torch`: this package on its default Node backend (wasm) side by side with the same graph in
 * plain PyTorch (bench/torch_reference.py: our own implementation, not FunASR's code), on the base- and
 * large-shaped synthetic models, the same audio length and the same weights file, back to back in one run.
 *
 *   npm run bench:torch                                             # base and large, 10 s, median of 3
 *   npm run bench:torch -- --models base --seconds 5 --runs 1
 *   npm run bench:torch -- --write bench/RESULTS.md                 # also append the markdown table there
 *
 * Each side runs in its own process (so peak RSS is its own): first the PyTorch script checks its output
 * against the fixture's reference and times the forward pass, then this file re-runs itself with `--side wasm`.
 * Skips with a note where no Python has torch, numpy and PyYAML (PYTHON picks the interpreter). CI never needs it.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSafetensors } from '../src/model/checkpoint/safetensors.js';
import { fixturePath, randomArray, syntheticWeights, type FixtureCase } from '../test/support/fixtures.js';

const { values: args } = parseArgs({
  options: {
    models: { type: 'string', default: 'base,large' },
    seconds: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    write: { type: 'string' },
    // Internal: the package's side, run in a child process.
    side: { type: 'string' },
    folder: { type: 'string' },
  },
});

const SAMPLE_RATE = 16000;
const SCRIPT = fileURLToPath(import.meta.url);
const REFERENCE = fileURLToPath(new URL('./torch_reference.py', import.meta.url));
const seconds = Number(args.seconds);
const runs = Number(args.runs);

/** What each side reports (the PyTorch script prints the same fields under other names). */
interface SideResult {
  implementation: string;
  threads: string;
  loadMs: number;
  medianMs: number;
  peakRssMiB: number;
  parity: string;
  loadAverage: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The package's side, in its own process: load the folder on the default Node backend, time predict. */
async function runPackageSide(folder: string): Promise<void> {
  const { Emotion2Vec } = await import('../src/node.js');
  const { wasmThreadWorkers } = await import('../src/backend/wasm/node-threads.js');
  const { getThreadsCount } = await import('@tensorflow/tfjs-backend-wasm');
  let start = performance.now();
  const model = await Emotion2Vec.load(folder);
  const loadMs = performance.now() - start;
  // The same audio as `npm run bench`: its seeded random samples at speech-like levels.
  const audio = randomArray(seconds * SAMPLE_RATE, seconds).map((v) => v * 0.1);
  await model.predict(audio); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    start = performance.now();
    await model.predict(audio);
    times.push(performance.now() - start);
  }
  // Pthread workers start only with the threaded build (EMOTION2VEC_WASM_THREADS unset); getThreadsCount is
  // the thread pool tfjs' kernels actually use. Both are shown: they need not agree.
  const workers = wasmThreadWorkers();
  const build = workers ? `threaded build (${workers} pthread workers)` : 'single-threaded build';
  const threads = model.backend === 'wasm' ? `wasm, ${build}, getThreadsCount() = ${getThreadsCount()}` : model.backend;
  model.dispose();
  process.stdout.write(
    JSON.stringify({ loadMs, medianMs: median(times), threads, peakRssMiB: process.resourceUsage().maxRSS / 1024 }),
  );
}

/** The first interpreter that imports torch, numpy and yaml: $PYTHON, python3 on PATH, then Debian's own. */
function findPython(): string | null {
  const candidates = [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  return (
    candidates.find(
      (python) => spawnSync(python, ['-c', 'import torch, numpy, yaml'], { stdio: 'ignore' }).status === 0,
    ) ?? null
  );
}

function runJson(command: string, commandArgs: string[]): Record<string, unknown> {
  const result = spawnSync(command, commandArgs, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 2 ** 24,
  });
  if (result.status !== 0)
    throw new Error(`${command} ${commandArgs.join(' ')} failed (exit ${result.status ?? result.signal})`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function torchSide(python: string, name: FixtureCase, weightsFile: string): SideResult {
  const loadAverage = loadavg()[0]!.toFixed(2);
  process.stderr.write(`PyTorch, ${name} (load average ${loadAverage})...\n`);
  const out = runJson(python, [
    REFERENCE,
    '--fixture',
    fixturePath(name),
    '--weights',
    weightsFile,
    '--check',
    '--seconds',
    String(seconds),
    '--runs',
    String(runs),
    '--threads',
    args.threads,
  ]) as {
    torch: string;
    threads: number;
    weights_ms: number;
    parity: { max_abs_diff: { frames: number; scores: number } };
    timing: { median_ms: number };
    peak_rss_mib: number;
  };
  const diff = out.parity.max_abs_diff;
  return {
    implementation: `plain PyTorch ${out.torch} (bench/torch_reference.py)`,
    threads: `torch.set_num_threads(${out.threads})`,
    loadMs: out.weights_ms,
    medianMs: out.timing.median_ms,
    peakRssMiB: out.peak_rss_mib,
    parity: `frames ${diff.frames.toExponential(1)}, scores ${diff.scores.toExponential(1)}`,
    loadAverage,
  };
}

function packageSide(name: FixtureCase, folder: string): SideResult {
  const loadAverage = loadavg()[0]!.toFixed(2);
  process.stderr.write(`emotion2vec-tfjs, ${name} (load average ${loadAverage})...\n`);
  const out = runJson(process.execPath, [
    ...process.execArgv,
    SCRIPT,
    '--side',
    'wasm',
    '--folder',
    folder,
    '--seconds',
    String(seconds),
    '--runs',
    String(runs),
  ]) as {
    loadMs: number;
    medianMs: number;
    threads: string;
    peakRssMiB: number;
  };
  return { implementation: 'emotion2vec-tfjs (default Node backend)', ...out, parity: 'test/parity', loadAverage };
}

/** A checkpoint folder of a fixture's synthetic weights (config.yaml, tokens.txt, model.safetensors). */
function writeCheckpoint(name: FixtureCase, dir: string): string {
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read(),
  }));
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
  for (const file of ['config.yaml', 'tokens.txt'])
    writeFileSync(join(dir, file), readFileSync(fixturePath(name, file)));
  return join(dir, 'model.safetensors');
}

function table(rows: (SideResult & { model: string })[]): string {
  const header = [
    'model',
    'implementation',
    'backend / threads',
    'load (ms)',
    `${seconds} s audio (ms)`,
    `real-time factor (${seconds} s)`,
    'peak RSS (MiB)',
    'max abs diff vs fixture',
    'load average (1 min)',
  ];
  const lines = rows.map((r) => [
    r.model,
    r.implementation,
    r.threads,
    r.loadMs.toFixed(0),
    r.medianMs.toFixed(0),
    (r.medianMs / (seconds * 1000)).toFixed(3),
    r.peakRssMiB.toFixed(0),
    r.parity,
    r.loadAverage,
  ]);
  return [header, header.map((_, i) => (i < 3 ? '---' : '---:')), ...lines]
    .map((cells) => `| ${cells.join(' | ')} |`)
    .join('\n');
}

async function main(): Promise<void> {
  if (args.side === 'wasm') return runPackageSide(args.folder!);
  const python = findPython();
  if (!python) {
    process.stdout.write(
      'bench:torch skipped: no Python with torch, numpy and PyYAML (tried $PYTHON, python3, /usr/bin/python3). ' +
        'On Debian: apt-get install python3-torch python3-numpy python3-yaml, or set PYTHON.\n',
    );
    return;
  }
  const rows: (SideResult & { model: string })[] = [];
  for (const name of args.models.split(',') as FixtureCase[]) {
    const dir = mkdtempSync(join(tmpdir(), `e2v-torch-bench-${name}-`));
    try {
      const weightsFile = writeCheckpoint(name, dir);
      for (const side of [() => torchSide(python, name, weightsFile), () => packageSide(name, dir)]) {
        rows.push({ model: name, ...side() });
        process.stderr.write(`${table(rows.slice(-1)).split('\n').pop()}\n`); // each row as it lands: a busy machine takes minutes
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  const report =
    `Measured ${new Date().toISOString().slice(0, 16)}Z on ${machine}; \`npm run bench:torch -- ${process.argv.slice(2).join(' ')}\` ` +
    `(Python: ${python}); each side in its own process, back to back, PyTorch first; median of ${runs} run(s) after one warm-up; ` +
    `the same random audio as \`npm run bench\` on both sides; both sides load the same model.safetensors from a temporary folder.\n\n${table(rows)}\n\n`;
  process.stdout.write(report);
  if (args.write) appendFileSync(args.write, report);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
