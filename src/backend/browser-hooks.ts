/**
 * The browser's backend hooks (installed by src/browser.ts): GPU backends first, WebGL imported on first use
 * (no import needed in the app), WebGPU when the page registered it (`import '@tensorflow/tfjs-backend-webgpu'`).
 */
import type { BackendHooks } from './select.js';

/**
 * Loads @tensorflow/tfjs-backend-webgl (a dependency of this package) the first time a model asks for
 * 'webgl', so that `backend: 'auto'` gets the GPU without the app importing anything. WebGPU is used when the
 * page imported @tensorflow/tfjs-backend-webgpu itself (it is not a dependency: untested here).
 */
async function registerLazyBackend(name: string): Promise<string | null> {
  if (name === 'webgl') {
    try {
      await import('@tensorflow/tfjs-backend-webgl');
      return null;
    } catch (error) {
      return `@tensorflow/tfjs-backend-webgl failed to load (${error instanceof Error ? error.message : String(error)})`;
    }
  }
  if (name === 'webgpu') {
    const hasGpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
    return hasGpu
      ? "not registered (import '@tensorflow/tfjs-backend-webgpu' to use it)"
      : 'this browser has no WebGPU (navigator.gpu)';
  }
  return 'not registered';
}

export const browserBackendHooks: BackendHooks = {
  runtime: 'browser',
  preferredBackends: ['webgpu', 'webgl', 'wasm', 'cpu'],
  registerLazyBackend,
};
