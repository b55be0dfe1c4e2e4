/**
 * The browser's backend hooks (installed by src/browser.ts): GPU backends first, each imported on first use, so an
 * app gets WebGPU or WebGL without importing a backend package (a bundler that splits puts each in its own chunk).
 */
import type { BackendHooks } from './select.js';

/** The part of `navigator.gpu` asked here (typed loosely: the project builds without WebGPU's DOM types). */
interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null>;
}

/**
 * Loads @tensorflow/tfjs-backend-webgl or -webgpu (dependencies of this package) the first time a model asks for
 * it. Resolves to null when the backend is registered and worth trying, else to why not. WebGPU is tried only
 * where the browser hands out an adapter: tfjs' own factory fails on a null adapter with a TypeError that says
 * nothing, and asking first keeps `auto` from downloading the WebGPU chunk for nothing.
 */
async function registerLazyBackend(name: string): Promise<string | null> {
  if (name === 'webgl')
    return importBackend('@tensorflow/tfjs-backend-webgl', () => import('@tensorflow/tfjs-backend-webgl'));
  if (name === 'webgpu') {
    const problem = await webgpuAdapterProblem();
    if (problem) return problem;
    return importBackend('@tensorflow/tfjs-backend-webgpu', () => import('@tensorflow/tfjs-backend-webgpu'));
  }
  return 'not registered';
}

async function importBackend(packageName: string, load: () => Promise<unknown>): Promise<string | null> {
  try {
    await load();
    return null;
  } catch (error) {
    return `${packageName} failed to load (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Null when this browser (or worker) offers a WebGPU adapter, else why not. */
async function webgpuAdapterProblem(): Promise<string | null> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) return 'this browser has no WebGPU (navigator.gpu; Chromium exposes it on https or http://127.0.0.1 pages)';
  try {
    if (!(await gpu.requestAdapter())) return 'the browser has WebGPU but gave no adapter (no supported GPU or driver)';
  } catch (error) {
    return `the WebGPU adapter request failed (${error instanceof Error ? error.message : String(error)})`;
  }
  return null;
}

export const browserBackendHooks: BackendHooks = {
  runtime: 'browser',
  preferredBackends: ['webgpu', 'webgl', 'wasm', 'cpu'],
  registerLazyBackend,
};
