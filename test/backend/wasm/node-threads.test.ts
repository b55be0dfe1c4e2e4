import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmThreadWorkers } from '../../../src/backend/wasm/node-threads.js';
import { useBackend } from '../../support/backend.js';
import { randomArray } from '../../support/fixtures.js';

describe('wasm threads in Node', () => {
  beforeAll(() => useBackend('wasm'));

  it('runs the threaded build by default, with its pthread workers started', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(wasmThreadWorkers()).toBeGreaterThan(0);
  });

  it("gives XNNPACK's pool one thread per core (tfjs alone caps it at half the cores: one on a 2-core machine)", () => {
    expect(getThreadsCount()).toBe(Math.min(availableParallelism(), 8));
  });

  it('computes a large product the same as a float64 loop', () => {
    const [m, k, n] = [64, 300, 40];
    const a = randomArray(m * k, 1);
    const b = randomArray(k * n, 2);
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])).dataSync());
    let worst = 0;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += a[i * k + p]! * b[p * n + j]!;
        worst = Math.max(worst, Math.abs(sum - product[i * n + j]!));
      }
    expect(worst).toBeLessThan(1e-4);
  });

  it('lets a process end by itself once its work is done, with the pool threads running', () => {
    // Emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads never end: without the
    // shim's no-op ref() this child would never exit. The timeout fails the test instead of hanging it.
    const output = execFileSync(process.execPath, ['--import', 'tsx', 'test/backend/wasm/pool-exit.child.ts'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, EMOTION2VEC_WASM_THREADS: '2' },
    });
    expect(Number(output.trim().split('\n').pop())).toBe(Math.min(2, availableParallelism()));
  }, 150_000);
});
