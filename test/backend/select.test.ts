/**
 * Backend selection in Node without @tensorflow/tfjs-node(-gpu) (they are optional and not installed here):
 * auto falls through to wasm, an explicit unavailable backend gets a BackendError naming what to install.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../src/node.js';
import { selectBackend } from '../../src/backend/select.js';
import { runCli } from '../cli/run-cli.js';
import { fixturePath } from '../support/fixtures.js';

describe('selectBackend (Node)', () => {
  // First, before anything initialises wasm: a per-file wasmPaths map missing a binary is refused by name.
  it('a wasmPaths map that lacks a .wasm file: BackendError quoting what is missing', async () => {
    const error = await selectBackend('wasm', {
      wasmPaths: { 'tfjs-backend-wasm.wasm': '/nowhere/tfjs-backend-wasm.wasm' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringMatching(/wasmPaths were refused.*tfjs-backend-wasm-simd\.wasm/),
    });
  });

  it('auto takes wasm when the native backend is not installed', async () => {
    expect(await selectBackend('auto')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an explicit tensorflow backend without its package names the packages to install (real Node, through the CLI)', async () => {
    // Run as a user would: vitest's module loader words a missing optional package differently from Node.
    const { code, stderr } = await runCli([
      'analyze',
      fixturePath('audio', 'chirp16k.wav'),
      '--model',
      fixturePath('tiny'),
      '--backend',
      'tensorflow',
      '--json',
      '--no-output',
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /BACKEND_UNAVAILABLE: Backend 'tensorflow' is unavailable: tensorflow: @tensorflow\/tfjs-node-gpu is not installed; @tensorflow\/tfjs-node is not installed\./,
    );
    expect(stderr).toMatch(/Install @tensorflow\/tfjs-node \(CPU\) or @tensorflow\/tfjs-node-gpu \(CUDA\)/);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a failed explicit request leaves the working backend in place', async () => {
    await expect(selectBackend('tensorflow')).rejects.toBeInstanceOf(BackendError);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('an unknown or browser-only backend name: typed error listing the valid names', async () => {
    await expect(selectBackend('tpu')).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringContaining('auto, tensorflow, wasm, cpu'),
    });
    await expect(selectBackend('webgl')).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringContaining('tfjs-backend-webgl'),
    });
  });

  it('auto never lands on cpu silently: one warning naming the fix when the wasm files are missing (real Node)', async () => {
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'test/support/cpu-fallback.ts'],
        { cwd: fileURLToPath(new URL('../../', import.meta.url)) },
        (error, out, err) => (error ? reject(error) : resolve({ stdout: out, stderr: err })),
      );
    });
    expect(JSON.parse(stdout)).toEqual({ first: 'cpu', second: 'cpu' });
    const warnings = stderr.split('\n').filter((line) => line.includes("backend 'auto' fell back"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /about 40x slower \(tensorflow: .*; wasm: failed to initialise.*\)\. To fix it, install @tensorflow\/tfjs-node, or .*wasmPaths/,
    );
  });

  it('switches to cpu and back', async () => {
    expect(await selectBackend('cpu')).toBe('cpu');
    expect(await selectBackend('wasm')).toBe('wasm');
  });
});
