/**
 * Importing the package changes nothing in the process: no global, no tfjs kernel. Loading a model on wasm then
 * changes exactly what docs/performance.md says (test/support/process-changes.ts). Each case runs in a fresh Node
 * process (test/support/process-changes.child.mjs) on the sources; test/consumer/package.test.ts does the same on
 * the built package.
 */
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../support/fixtures.js';
import {
  AFTER_SINGLE_THREADED_WASM_LOAD,
  AFTER_THREADED_WASM_LOAD,
  UNCHANGED,
  type ProcessChanges,
} from '../support/process-changes.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function changesInChild(threads: string): Promise<ProcessChanges> {
  const args = [
    '--import',
    'tsx',
    'test/support/process-changes.child.mjs',
    `${REPO}src/node.ts`,
    fixturePath('tiny'),
    fixturePath('audio', 'speech16k.wav'),
  ];
  const env = { ...process.env, EMOTION2VEC_WASM_THREADS: threads };
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { cwd: REPO, env, timeout: 120_000 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${error.message}\n${stderr}`))
        : resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ProcessChanges),
    );
  });
}

describe('importing the package, then loading a model on wasm (fresh Node processes)', () => {
  it('the import changes nothing; the load adds our own kernels, runs threaded and restores every global it used', async () => {
    const seen = await changesInChild('');
    expect(seen.import).toEqual(UNCHANGED);
    expect(seen.load).toEqual(AFTER_THREADED_WASM_LOAD);
    // The threaded build did start (the globals were in use during its start), with one thread per core.
    expect(seen.threads).toBe(Math.min(availableParallelism(), 8));
  }, 150_000);

  it('EMOTION2VEC_WASM_THREADS=0: the same, single-threaded, with nothing set up for threads', async () => {
    const seen = await changesInChild('0');
    expect(seen.import).toEqual(UNCHANGED);
    expect(seen.load).toEqual(AFTER_SINGLE_THREADED_WASM_LOAD);
    expect(seen.threads).toBe(1);
  }, 150_000);
});
