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
import type { HeapBlock, Int8WeightUse, PreparedWeight } from '../kernels.js';
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

/**
 * Attributes of INT8_LINEAR_KERNEL. With `kernel`, x is a convolution's input and each output frame's row is its
 * input patch, read in place: overlapping rows of the product, never gathered into a matrix. Groups 1: x (B, T, C),
 * patches of `kernel` frames every `stride` frames; groups G: x (B, G, T, C / G), each group's own channels frame by
 * frame, stride 1, its patches multiplied by its share of the output channels (the packed weight's columns).
 */
interface Int8LinearAttrs {
  readonly outFeatures: number;
  readonly kernel?: number;
  readonly stride?: number;
  readonly groups?: number;
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

/**
 * Bytes `int8Weight` takes for an (out, in) weight used as `use`, or null when int8 weights cannot be made now, or
 * not for that use: convolutions only with the SIMD128 kernels (the relaxed ones requantize the weights to 7 bits,
 * which on the CNN moves the scores past int8's bounds: large 0.035, against 0.008 with a float32 CNN; see
 * docs/performance.md, "int8 compute"), and grouped ones only where each group's channels start on a panel of the
 * packed layout.
 */
export function int8WeightBytes(outFeatures: number, inFeatures: number, use: Int8WeightUse): number | null {
  const current = active();
  if (current === null) return null;
  if (use.kind === 'convolution') {
    const { kernels } = current.runtime;
    const groupOut = outFeatures / use.groups;
    if (kernels.variant !== 'simd128' || !Number.isInteger(groupOut)) return null;
    if (use.groups > 1 && groupOut % kernels.panelWidth !== 0) return null;
  }
  return firstFormBytes(outFeatures, inFeatures);
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

/**
 * One product of the kernel below: m rows of x (rowStride floats apart, from x's address + xOffset bytes) into out's
 * columns [colBegin, colEnd) (from out's address + outOffset bytes).
 */
interface ProductCall {
  readonly xOffset: number;
  readonly rowStride: number;
  readonly outOffset: number;
  readonly colBegin: number;
  readonly colEnd: number;
}

/** The products of one call of the kernel below, all of m rows of k: one for a linear layer, more for convolutions. */
function productsOf(
  x: tf.TensorInfo,
  attrs: Int8LinearAttrs,
): { outShape: number[]; m: number; k: number; calls: ProductCall[] } {
  const n = attrs.outFeatures;
  if (attrs.kernel === undefined) {
    const k = x.shape[x.shape.length - 1]!;
    const m = tf.util.sizeFromShape(x.shape) / k;
    const calls = [{ xOffset: 0, rowStride: k, outOffset: 0, colBegin: 0, colEnd: n }];
    return { outShape: [...x.shape.slice(0, -1), n], m, k, calls };
  }
  // One product per batch item (and group): its output frames' patches overlap within the item only.
  const { kernel, stride = 1, groups = 1 } = attrs;
  if (groups === 1) {
    const [batch, frames, channels] = x.shape as [number, number, number];
    const m = Math.max(0, Math.floor((frames - kernel) / stride) + 1);
    const calls = Array.from({ length: batch }, (_, b) => ({
      xOffset: 4 * b * frames * channels,
      rowStride: stride * channels,
      outOffset: 4 * b * m * n,
      colBegin: 0,
      colEnd: n,
    }));
    return { outShape: [batch, m, n], m, k: kernel * channels, calls };
  }
  const [batch, , frames, groupChannels] = x.shape as [number, number, number, number];
  const m = Math.max(0, frames - kernel + 1);
  const groupOut = n / groups;
  const calls: ProductCall[] = [];
  for (let b = 0; b < batch; b++) {
    for (let g = 0; g < groups; g++) {
      calls.push({
        xOffset: 4 * (b * groups + g) * frames * groupChannels,
        rowStride: groupChannels,
        outOffset: 4 * b * m * n,
        colBegin: g * groupOut,
        colEnd: (g + 1) * groupOut,
      });
    }
  }
  return { outShape: [batch, m, n], m, k: kernel * groupChannels, calls };
}

/**
 * Runs `use` with `bytes` of heap scratch for a kernel whose output is `out`: INFERENCE_FAILED (naming `what`) when
 * the heap cannot grow by that much; `out` freed when anything throws, the scratch freed either way.
 */
function withScratch(
  backend: BackendWasm,
  out: tf.TensorInfo,
  bytes: number,
  what: string,
  use: (scratch: number) => void,
): void {
  const heap = backend as unknown as HeapBackend;
  const scratch = allocate(heap, bytes);
  try {
    if (scratch === 0) {
      throw new InferenceError(
        'INFERENCE_FAILED',
        `The wasm heap cannot grow by the ${bytes} bytes ${what} needs: the input is too long for this device's memory.`,
      );
    }
    use(scratch);
  } catch (error) {
    backend.disposeData(out.dataId);
    throw error;
  } finally {
    if (scratch !== 0) heap.wasm._free(scratch);
  }
}

/** x float32 times a packed int8 weight (INT8_LINEAR_KERNEL; see Int8LinearAttrs) -> float32, on the wasm backend. */
function int8LinearWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x, weight } = args.inputs as { x: tf.TensorInfo; weight: tf.TensorInfo };
  const attrs = args.attrs as unknown as Int8LinearAttrs;
  const n = attrs.outFeatures;
  const backend = args.backend as BackendWasm;
  const heap = backend as unknown as HeapBackend;
  const runtime = runtimes.get(wasmMemoryOf(backend)!)!;
  const { outShape, m, k, calls } = productsOf(x, attrs);
  const out = heap.makeOutput(outShape, 'float32');
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const [xAt, weightAt, outAt] = [heapAddress(backend, x), heapAddress(backend, weight), heapAddress(backend, out)];
  withScratch(backend, out, runtime.kernels.quantizedBytes(m, k), 'an int8 product', (quantized) => {
    for (const call of calls) {
      const [callX, callOut] = [xAt + call.xOffset, outAt + call.outOffset];
      if (split === 'rows' || attrs.kernel !== undefined) {
        runtime.pool.product(callX, quantized, weightAt, callOut, m, k, n, call);
      } else {
        runtime.kernels.quantizeRows(callX, m, k, quantized);
        runtime.pool.matmul(quantized, weightAt, callOut, m, k, n);
      }
    }
  });
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

/** Checks what the kernel would otherwise read wrongly: x float32, its patches `prepared.inFeatures` long. */
function checkConvInput(x: tf.Tensor, patch: number, prepared: Extract<PreparedWeight, { kind: 'int8' }>): void {
  if (x.dtype !== 'float32' || x.rank !== 3 || patch !== prepared.inFeatures) {
    throw new Error(
      `int8 conv1d: x must be float32 (B, T, C) with patches of ${prepared.inFeatures} values, not ${x.dtype} [${x.shape.join(', ')}]`,
    );
  }
}

/**
 * Conv1d without bias, 'valid' padding: x (B, T, in) -> (B, T', out), with the (out, kernel * in) weight (each
 * tap's `in` values together, taps in order) packed by `packInt8Weight`. Each output frame's patch is `kernel`
 * consecutive frames of x, which lie side by side in memory: the product reads them in place.
 */
export function int8Conv1d(
  x: tf.Tensor3D,
  weight: tf.Tensor,
  prepared: Extract<PreparedWeight, { kind: 'int8' }>,
  kernel: number,
  stride: number,
): tf.Tensor3D {
  checkConvInput(x, kernel * x.shape[2], prepared);
  const attrs: Int8LinearAttrs = { outFeatures: prepared.outFeatures, kernel, stride };
  return tf.engine().runKernel(INT8_LINEAR_KERNEL, { x, weight }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
}

/**
 * Grouped Conv1d with 'same' padding and T frames out (torch's padding k // 2 followed by SamePad, which drops the
 * extra last frame of an even kernel): x (B, T, in) -> (B, T, out), with the (out, kernel * in / groups) weight
 * (taps first, as for int8Conv1d) and its bias packed by `packInt8Weight`. x is laid out group by group once, so
 * that each group's patches lie side by side in memory; each group's product writes its own output channels.
 */
export function int8GroupedConv1d(
  x: tf.Tensor3D,
  weight: tf.Tensor,
  prepared: Extract<PreparedWeight, { kind: 'int8' }>,
  kernel: number,
  groups: number,
): tf.Tensor3D {
  const [batch, frames, channels] = x.shape;
  checkConvInput(x, (kernel * channels) / groups, prepared);
  const left = Math.floor(kernel / 2);
  return tf.tidy(() => {
    const padded = tf.pad(x, [
      [0, 0],
      [left, kernel - 1 - left],
      [0, 0],
    ]);
    const byGroup = tf.transpose(
      tf.reshape(padded, [batch, frames + kernel - 1, groups, channels / groups]),
      [0, 2, 1, 3],
    );
    const attrs: Int8LinearAttrs = { outFeatures: prepared.outFeatures, kernel, groups };
    return tf
      .engine()
      .runKernel(INT8_LINEAR_KERNEL, { x: byGroup, weight }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  });
}

export const INT8_ATTENTION_KERNEL = 'Emotion2VecInt8Attention';

/** Attributes of INT8_ATTENTION_KERNEL. */
interface Int8AttentionAttrs {
  readonly heads: number;
  /** The batch item whose bias applies (the bias's first axis, when it has more than one). */
  readonly item: number;
}

/** qkv (N, 3D) -> the heads' attention (N, D), every product in int8 (Int8Kernels.attention), on the wasm backend. */
function int8AttentionWasm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { qkv, bias } = args.inputs as { qkv: tf.TensorInfo; bias?: tf.TensorInfo };
  const { heads, item } = args.attrs as unknown as Int8AttentionAttrs;
  const backend = args.backend as BackendWasm;
  const heap = backend as unknown as HeapBackend;
  const runtime = runtimes.get(wasmMemoryOf(backend)!)!;
  const [n, width] = qkv.shape as [number, number];
  const dim = width / 3;
  const out = heap.makeOutput([n, dim], 'float32');
  if (n === 0) return out;
  const headDim = dim / heads;
  withScratch(backend, out, runtime.pool.attentionScratchBytes(n, headDim), 'int8 attention', (scratch) => {
    let biasAt = 0;
    let headStride = 0;
    let rowStride = 0;
    if (bias) {
      // (B|1, H|1, N|1, N): a stride of 0 along an axis of one.
      const [items, biasHeads, rows] = bias.shape as [number, number, number, number];
      rowStride = rows === 1 ? 0 : n;
      headStride = biasHeads === 1 ? 0 : rows * n;
      biasAt = heapAddress(backend, bias) + 4 * (items === 1 ? 0 : item) * biasHeads * rows * n;
    }
    const [qkvAt, outAt] = [heapAddress(backend, qkv), heapAddress(backend, out)];
    runtime.pool.attention(qkvAt, n, dim, headDim, biasAt, headStride, rowStride, outAt, scratch);
  });
  return out;
}

export const INT8_ATTENTION_KERNEL_CONFIG: tf.KernelConfig = {
  kernelName: INT8_ATTENTION_KERNEL,
  backendName: 'wasm',
  kernelFunc: int8AttentionWasm as tf.KernelFunc,
};

/**
 * Multi-head attention of one item with every product in int8, where the int8 products have started on the active
 * backend: qkv (N, 3D) float32, bias (B|1, H|1, N|1, N) float32 or null -> (N, D). Null where they have not (the
 * caller computes in float32).
 */
export function int8Attention(
  qkv: tf.Tensor2D,
  bias: tf.Tensor4D | null,
  item: number,
  heads: number,
): tf.Tensor2D | null {
  if (active() === null) return null;
  const [n, width] = qkv.shape;
  if (qkv.dtype !== 'float32' || width % (3 * heads) !== 0)
    throw new Error(
      `int8 attention: qkv must be float32 (N, 3D) with D a multiple of ${heads}, not [${qkv.shape.join(', ')}]`,
    );
  if (
    bias &&
    (bias.dtype !== 'float32' ||
      bias.rank !== 4 ||
      bias.shape[3] !== n ||
      ![1, n].includes(bias.shape[2]) ||
      ![1, heads].includes(bias.shape[1]))
  )
    throw new Error(
      `int8 attention: the bias must be float32 (B|1, ${heads}|1, ${n}|1, ${n}), not [${bias.shape.join(', ')}]`,
    );
  const attrs: Int8AttentionAttrs = { heads, item };
  return tf
    .engine()
    .runKernel(
      INT8_ATTENTION_KERNEL,
      bias ? { qkv, bias } : { qkv },
      attrs as unknown as tf.NamedAttrMap,
    ) as tf.Tensor2D;
}
