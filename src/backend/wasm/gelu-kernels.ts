/**
 * GELU and LayerNorm + GELU as single passes for the wasm backend.
 *
 * tfjs builds the exact GELU from erf and four elementwise ops, and LayerNorm from moments, subtract, rsqrt,
 * multiply and add: about a dozen passes over the tensor, each allocating a full-size output. At the CNN's first
 * layer (16 000 frames x 512 channels per 5 s of audio) that cost more than the convolution (bench/RESULTS.md).
 * These kernels run a small SIMD wasm module (src/backend/wasm/gelu-simd.wat: hand-written because no tfjs op fuses
 * them, and a JavaScript loop measured slower than tfjs' own passes) on the tfjs wasm backend's own memory:
 * the input is read in place and each output value written once.
 *
 * Registered for the wasm backend only, under this project's own kernel names, when `selectBackend` starts
 * wasm (src/backend/wasm/kernels.ts); cpu, WebGL and WebGPU keep the tfjs formulation. The kernel interface asks
 * `wasmGeluKernelsFor(x)` which path to take. Where the module cannot start (a runtime without wasm SIMD), the
 * tfjs formulation runs on wasm too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { GELU_SIMD_PLAIN, GELU_SIMD_SHARED } from './gelu-simd-module.js';
import { heapAddress, wasmMemoryOf } from './heap.js';

export const GELU_KERNEL = 'Emotion2VecGelu';
export const LAYER_NORM_GELU_KERNEL = 'Emotion2VecLayerNormGelu';

/** Attributes of LAYER_NORM_GELU_KERNEL: epsilon inside the square root, as torch.nn.LayerNorm. */
export interface LayerNormGeluAttrs {
  readonly eps: number;
  /** Write the result over `x` when nothing else holds its data (the caller drops `x` afterwards). */
  readonly inPlace?: boolean;
}

interface GeluExports {
  gelu(src: number, dst: number, n: number): void;
  layer_norm_gelu(
    src: number,
    dst: number,
    rows: number,
    width: number,
    gain: number,
    shift: number,
    eps: number,
  ): void;
}

/** One instance per wasm memory (a backend re-created by tfjs gets a new memory); null where it cannot start. */
const instances = new WeakMap<object, GeluExports | null>();

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function geluModule(backend: BackendWasm): GeluExports | null {
  const memory = wasmMemoryOf(backend);
  if (!memory) return null;
  if (!instances.has(memory)) {
    try {
      const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      // Synchronous compile: the module is under the 4 KB browsers allow on the main thread.
      const module = new WebAssembly.Module(
        decodeBase64(shared ? GELU_SIMD_SHARED : GELU_SIMD_PLAIN) as Uint8Array<ArrayBuffer>,
      );
      instances.set(memory, new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GeluExports);
    } catch {
      instances.set(memory, null);
    }
  }
  return instances.get(memory)!;
}

function geluWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend }): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, 'float32');
  geluModule(backend)!.gelu(heapAddress(backend, x), heapAddress(backend, out), tf.util.sizeFromShape(x.shape));
  return out;
}

function layerNormGeluWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, weight, bias } = args.inputs as { x: tf.TensorInfo; weight: tf.TensorInfo; bias: tf.TensorInfo };
  const { eps, inPlace } = args.attrs as unknown as LayerNormGeluAttrs;
  const backend = args.backend as BackendWasm;
  // In place, the output is x's own data handed on, as tfjs' Reshape does (one more reference, no copy): the
  // CNN's first layers then need one buffer of 16 000 x 512 values per 5 s of audio instead of two.
  const reuse = inPlace === true && backend.refCount(x.dataId) === 1;
  if (reuse) backend.incRef(x.dataId);
  const out: tf.TensorInfo = reuse
    ? { dataId: x.dataId, shape: x.shape, dtype: 'float32' }
    : backend.makeOutput(x.shape, 'float32');
  const width = x.shape[x.shape.length - 1]!;
  const rows = tf.util.sizeFromShape(x.shape) / width;
  geluModule(backend)!.layer_norm_gelu(
    heapAddress(backend, x),
    heapAddress(backend, out),
    rows,
    width,
    heapAddress(backend, weight),
    heapAddress(backend, bias),
    eps,
  );
  return out;
}

/** Both kernels, for tf.registerKernel. */
export const GELU_KERNEL_CONFIGS: readonly tf.KernelConfig[] = [
  { kernelName: GELU_KERNEL, backendName: 'wasm', kernelFunc: geluWasm as tf.KernelFunc },
  { kernelName: LAYER_NORM_GELU_KERNEL, backendName: 'wasm', kernelFunc: layerNormGeluWasm as tf.KernelFunc },
];

let enabled = true;

/** @internal Turns the kernels off (false) or on: for bench/cnn.ts's before/after and the layer tests. */
export function useWasmGeluKernels(on: boolean): void {
  enabled = on;
}

/** Whether the kernels can run on `x` now: wasm is the active backend, its module started, `x` is float32. */
export function wasmGeluKernelsFor(x: tf.Tensor): boolean {
  if (!enabled || x.dtype !== 'float32' || x.size === 0 || tf.getBackend() !== 'wasm') return false;
  return geluModule(tf.backend() as BackendWasm) !== null;
}
