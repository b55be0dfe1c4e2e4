/**
 * The int8 compute path of the wasm backend (`LoadOptions.compute: 'int8'`): the encoder's weight matrices held as
 * int8 with one scale per output channel, packed on tfjs' own heap for the int8 kernels of ./int8, and `linear`
 * computed by those kernels: the rows of x quantized (8 bits over each row's range) into a heap scratch buffer,
 * then the integer product written straight into the output tensor's memory, with the scales and the bias applied
 * inside it.
 *
 * A weight goes through two forms, both owned by one tensor (disposing it frees whichever block it holds):
 *
 * 1. `int8Weight`: a heap block with the int8 values in PyTorch's (out, in) layout and the scales after them, read
 *    there straight from an int8 folder's shards (or quantized from float32 by the model at load). The tensor is a
 *    handle (int32, one element per 4 bytes of the block), never read as values.
 * 2. `packInt8Weight` (the kernel interface's `prepareLinearWeight`): the kernels' own layout with the bias, in a
 *    new block; the first block is freed and the tensor's record points at the new one, so tfjs frees it with the
 *    tensor. Packing takes about 0.15 s for the large model, so the model packs at load.
 *
 * The kernels are started once per wasm memory by `startInt8Compute` (compiled asynchronously: browsers refuse
 * large synchronous compiles on their main thread), then warmed up, so that V8's optimizing compiler has them before
 * the first product. Products run on as many threads as tfjs gave XNNPACK (`EMOTION2VEC_WASM_THREADS`, one per core
 * by default) where the memory is shared (tfjs' threaded build) and this thread may block; on one thread elsewhere
 * (tfjs' single-threaded build, a browser's main thread).
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, version_wasm, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { InferenceError } from '../../errors.js';
import type { HeapBlock, PreparedWeight } from '../kernels.js';
import {
  allocate,
  heapAddress,
  heapBackend,
  VERIFIED_WASM_VERSION,
  WasmHeapBlock,
  wasmMemoryOf,
  wasmTensorData,
  type HeapBackend,
} from './heap.js';
import { instantiateInt8Kernels, type Int8Kernels } from './int8/int8-matmul.js';
import { createInt8ThreadPool, type Int8ThreadPool, type Int8WorkerStarter } from './int8/int8-threads.js';

export const INT8_LINEAR_KERNEL = 'Emotion2VecInt8Linear';

/** Attributes of INT8_LINEAR_KERNEL. */
interface Int8LinearAttrs {
  readonly outFeatures: number;
}

/** The kernels on one wasm memory, and the threads that share each product. */
interface Int8Runtime {
  readonly kernels: Int8Kernels;
  readonly pool: Int8ThreadPool;
}

/** Started runtimes, by memory (a backend re-created by tfjs gets a new memory). */
const runtimes = new WeakMap<WebAssembly.Memory, Int8Runtime>();
/** Starts in progress or done: the runtime, or why there is none. */
const starts = new WeakMap<WebAssembly.Memory, Promise<Int8Runtime | string>>();

/** The shape of each weight still in its first form (`int8Weight`), by its tensor's data id. */
const unpacked = new WeakMap<object, { readonly outFeatures: number; readonly inFeatures: number }>();

/** The active wasm backend and its started runtime, or null. */
function active(): { backend: BackendWasm; heap: HeapBackend; runtime: Int8Runtime } | null {
  const heap = heapBackend();
  if (heap === null) return null;
  const backend = tf.backend() as BackendWasm;
  const memory = wasmMemoryOf(backend);
  const runtime = memory && runtimes.get(memory);
  return runtime ? { backend, heap, runtime } : null;
}

/**
 * Starts the int8 kernels on the active backend's memory (once per memory) and warms them up. Resolves to null
 * when int8 weights and products can be used, else to the reason they cannot (for the caller's note): not the
 * wasm backend, another tfjs-backend-wasm release, a runtime without wasm SIMD.
 */
export async function startInt8Compute(startWorker: Int8WorkerStarter | undefined): Promise<string | null> {
  const name = tf.getBackend();
  if (name !== 'wasm') return `the '${name}' backend has no int8 kernels (they run on 'wasm')`;
  if (version_wasm !== VERIFIED_WASM_VERSION)
    return `the int8 weights rely on tfjs-backend-wasm ${VERIFIED_WASM_VERSION}, not ${version_wasm}`;
  const backend = tf.backend() as BackendWasm;
  const memory = wasmMemoryOf(backend);
  const heap = heapBackend();
  if (!memory || heap === null) return 'this tfjs-backend-wasm build does not expose its memory';
  let start = starts.get(memory);
  if (!start) {
    start = startRuntime(memory, heap, startWorker);
    starts.set(memory, start);
  }
  const runtime = await start;
  return typeof runtime === 'string' ? runtime : null;
}

async function startRuntime(
  memory: WebAssembly.Memory,
  heap: HeapBackend,
  startWorker: Int8WorkerStarter | undefined,
): Promise<Int8Runtime | string> {
  let kernels: Int8Kernels;
  try {
    kernels = await instantiateInt8Kernels(memory, 'auto');
  } catch (error) {
    return `the int8 kernels could not start here (${String((error as Error)?.message ?? error).slice(0, 200)})`;
  }
  const pool = await createInt8ThreadPool(kernels, tfjsThreads(), startWorker);
  // One mid-size product per thread, so that the first real one runs in V8's optimized code (int8-matmul.ts).
  const scratch = allocate(heap, pool.warmUpBytes);
  if (scratch !== 0) {
    try {
      pool.warmUp(scratch);
    } finally {
      heap.wasm._free(scratch);
    }
  }
  const runtime = { kernels, pool };
  runtimes.set(memory, runtime);
  return runtime;
}

/** The threads tfjs gave XNNPACK (1 in its single-threaded build): the int8 products use as many. */
function tfjsThreads(): number {
  try {
    return Math.max(1, getThreadsCount());
  } catch {
    return 1;
  }
}

/** What the int8 path runs on now: the kernel variant and the threads of a product, or null before it started. */
export function int8ComputeInfo(): { variant: string; threads: number; fallback?: string } | null {
  const runtime = active()?.runtime;
  if (!runtime) return null;
  const { pool, kernels } = runtime;
  return { variant: kernels.variant, threads: pool.threads, ...(pool.fallback ? { fallback: pool.fallback } : {}) };
}

/** Bytes of an (out, in) weight in its first form: the int8 values, padded to 4 bytes, then one float32 scale per row. */
function firstFormBytes(outFeatures: number, inFeatures: number): number {
  return Math.ceil((outFeatures * inFeatures) / 4) * 4 + 4 * outFeatures;
}

/** Bytes `int8Weight` takes for an (out, in) weight, or null when int8 weights cannot be made now. */
export function int8WeightBytes(outFeatures: number, inFeatures: number): number | null {
  return active() === null ? null : firstFormBytes(outFeatures, inFeatures);
}

/**
 * A weight in its first form (see the top of this file): `fill` writes its int8 values (`shape` = [out, in],
 * row-major) and its `out` scales straight into their place on the heap (in `block` when given, which the tensor
 * then owns). Null when the int8 kernels have not started on the active backend.
 */
export function int8Weight(
  shape: readonly [number, number],
  fill: (values: Int8Array, scales: Float32Array) => void,
  block?: HeapBlock,
): tf.Tensor | null {
  const current = active();
  if (current === null) return null;
  const { backend, heap } = current;
  const [outFeatures, inFeatures] = shape;
  const offset = block instanceof WasmHeapBlock ? block.take(heap) : undefined;
  const info = heap.makeOutput([firstFormBytes(outFeatures, inFeatures) / 4], 'int32', offset);
  const tensor = tf.engine().makeTensorFromTensorInfo(info, backend);
  try {
    // Views taken after the allocation (which may grow, and so replace, the heap's buffer).
    const address = heapAddress(backend, info);
    const buffer = wasmMemoryOf(backend)!.buffer;
    const count = outFeatures * inFeatures;
    fill(
      new Int8Array(buffer, address, count),
      new Float32Array(buffer, address + firstFormBytes(outFeatures, inFeatures) - 4 * outFeatures, outFeatures),
    );
  } catch (error) {
    tensor.dispose();
    throw error;
  }
  unpacked.set(tensor.dataId, { outFeatures, inFeatures });
  return tensor;
}

/** Whether `weight` is a weight in its first form, waiting for `packInt8Weight`. */
export function isUnpackedInt8Weight(weight: tf.Tensor): boolean {
  return unpacked.has(weight.dataId);
}

/**
 * Packs a weight made by `int8Weight` with its `bias` (out, float32, on the same backend) into the kernels' layout
 * and frees its first form; the tensor then owns the packed block. Throws when the heap cannot hold the packed copy
 * (the weight stays as it was, to be packed again).
 */
export function packInt8Weight(weight: tf.Tensor, bias: tf.Tensor | undefined): PreparedWeight {
  const shape = unpacked.get(weight.dataId);
  const current = active();
  const data = current && wasmTensorData(current.backend, weight);
  if (!shape || !current || !data) throw new Error('packInt8Weight: not an unpacked int8 weight of the active backend');
  const { backend, heap, runtime } = current;
  const { outFeatures: n, inFeatures: k } = shape;
  if (bias && (bias.dtype !== 'float32' || bias.size !== n || !wasmTensorData(backend, bias)))
    throw new Error(`packInt8Weight: the bias must be ${n} float32 values on the wasm backend`);
  const packed = allocate(heap, runtime.kernels.packedBytes(k, n));
  if (packed === 0) {
    throw new InferenceError(
      'INFERENCE_FAILED',
      `The wasm heap cannot grow to hold an int8 weight matrix (${n} x ${k}): free other models or use a smaller one.`,
    );
  }
  const first = data.memoryOffset;
  const scales = first + firstFormBytes(n, k) - 4 * n;
  runtime.kernels.packWeights(first, scales, bias ? heapAddress(backend, bias) : 0, k, n, packed);
  heap.wasm._free(first);
  // tfjs frees whatever block its record names when the tensor is disposed (backend_wasm.ts disposeData).
  data.memoryOffset = packed;
  unpacked.delete(weight.dataId);
  return { kind: 'int8', backend, inFeatures: k, outFeatures: n };
}

/**
 * How the threads share a product: by rows (each thread quantizes its own rows, then multiplies them by every
 * column) or by columns (the rows quantized on this thread first, each thread then takes a share of the columns).
 */
let split: 'rows' | 'columns' = 'rows';

/** @internal Chooses the split (bench/int8-split.ts measures both on the model). */
export function useInt8Split(next: 'rows' | 'columns'): void {
  split = next;
}

/** x (..., in) float32 times a packed int8 weight -> (..., out) float32, on the wasm backend. */
function int8LinearWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, weight } = args.inputs as { x: tf.TensorInfo; weight: tf.TensorInfo };
  const { outFeatures: n } = args.attrs as unknown as Int8LinearAttrs;
  const backend = args.backend as BackendWasm;
  const heap = backend as unknown as HeapBackend;
  const runtime = runtimes.get(wasmMemoryOf(backend)!)!;
  const k = x.shape[x.shape.length - 1]!;
  const m = tf.util.sizeFromShape(x.shape) / k;
  const out = heap.makeOutput([...x.shape.slice(0, -1), n], 'float32');
  if (m === 0) return out;
  const quantized = allocate(heap, runtime.kernels.quantizedBytes(m, k));
  try {
    if (quantized === 0) {
      throw new InferenceError(
        'INFERENCE_FAILED',
        `The wasm heap cannot grow by the ${runtime.kernels.quantizedBytes(m, k)} bytes an int8 product needs: the input is too long for this device's memory.`,
      );
    }
    const [xAt, weightAt, outAt] = [heapAddress(backend, x), heapAddress(backend, weight), heapAddress(backend, out)];
    if (split === 'rows') {
      runtime.pool.product(xAt, quantized, weightAt, outAt, m, k, n);
    } else {
      runtime.kernels.quantizeRows(xAt, m, k, quantized);
      runtime.pool.matmul(quantized, weightAt, outAt, m, k, n);
    }
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    if (quantized !== 0) heap.wasm._free(quantized);
  }
  return out;
}

export const INT8_LINEAR_KERNEL_CONFIG: tf.KernelConfig = {
  kernelName: INT8_LINEAR_KERNEL,
  backendName: 'wasm',
  kernelFunc: int8LinearWasm as tf.KernelFunc,
};

/**
 * x (..., in) times a weight packed by `packInt8Weight` (described by `prepared`), through the registered kernel.
 * Checks what the kernel would otherwise read wrongly: x float32 with `in` features.
 */
export function int8Linear(
  x: tf.Tensor,
  weight: tf.Tensor,
  prepared: Extract<PreparedWeight, { kind: 'int8' }>,
): tf.Tensor {
  if (x.dtype !== 'float32' || x.shape[x.shape.length - 1] !== prepared.inFeatures) {
    throw new Error(
      `int8 linear: x must be float32 with ${prepared.inFeatures} features, not ${x.dtype} [${x.shape.join(', ')}]`,
    );
  }
  const attrs: Int8LinearAttrs = { outFeatures: prepared.outFeatures };
  return tf.engine().runKernel(INT8_LINEAR_KERNEL, { x, weight }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
