/**
 * tfjs' wasm heap, for this project's wasm code: tensors filled in place, heap blocks reserved side by side for
 * the weights that get packed (the kernel interface's `filledTensor` and `reserveSideBySide`, used by the
 * parameter registry), and the memory, addresses and allocations the wasm kernels work with.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { HeapBlock, ReservedBlocks } from '../kernels.js';

/**
 * The tfjs-backend-wasm release whose bookkeeping (backend_wasm.ts: a tensor's heap block, freed with it) and
 * product kernel (batch_mat_mul_impl.cc) were read for the prepared weights (packed-weights.ts, int8-linear.ts),
 * which move or free a tensor's block behind tfjs' back: on any other release the weights stay as tfjs keeps them.
 */
export const VERIFIED_WASM_VERSION = '4.22.0';

/** The part of tfjs-backend-wasm's backend used here (its own bookkeeping, typed where it is read). */
export interface HeapBackend {
  makeOutput(shape: number[], dtype: 'float32' | 'int32', memoryOffset?: number): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  wasm: { _malloc(bytes: number): number; _free(pointer: number): void };
}

/**
 * The wasm backend's memory: the threaded build keeps its (shared) memory on the module object, the plain build
 * exports it. Undefined where neither is found (another tfjs-backend-wasm release).
 */
export function wasmMemoryOf(backend: BackendWasm): WebAssembly.Memory | undefined {
  const module = backend.wasm as unknown as { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  return module.wasmMemory ?? module.asm?.memory;
}

/** The part of tfjs-backend-wasm's record of one tensor that this project reads and, for prepared weights, moves. */
export interface WasmTensorData {
  memoryOffset: number;
  refCount: number;
}

/** tfjs' record of a tensor's data on the wasm backend (its heap address), or undefined if it has none there. */
export function wasmTensorData(backend: BackendWasm, tensor: tf.TensorInfo): WasmTensorData | undefined {
  return backend.dataIdMap.get(tensor.dataId) as WasmTensorData | undefined;
}

/** Byte address of a tensor's data on the wasm heap. */
export function heapAddress(backend: BackendWasm, tensor: tf.TensorInfo): number {
  return wasmTensorData(backend, tensor)!.memoryOffset;
}

/**
 * `bytes` of the heap, or 0 when the heap cannot grow that far. `>>> 0`: wasm's malloc returns a signed int32,
 * and heaps above 2 GB have offsets past its range.
 */
export function allocate(heap: HeapBackend, bytes: number): number {
  return heap.wasm._malloc(bytes) >>> 0;
}

/** The wasm backend's heap, when the active backend is wasm and offers what this module uses; else null. */
export function heapBackend(): HeapBackend | null {
  if (tf.getBackend() !== 'wasm') return null;
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  const usable =
    typeof backend.makeOutput === 'function' &&
    typeof backend.typedArrayFromHeap === 'function' &&
    typeof backend.wasm?._malloc === 'function' &&
    typeof backend.wasm._free === 'function';
  return usable ? (backend as HeapBackend) : null;
}

/** A block of one backend's heap; a tensor that takes it frees it with itself. */
export class WasmHeapBlock implements HeapBlock {
  private owned = true;

  constructor(
    private readonly heap: HeapBackend,
    private readonly offset: number,
  ) {}

  release(): void {
    // Freed on the heap it came from, whichever backend is active by then.
    if (this.owned) this.heap.wasm._free(this.offset);
    this.owned = false;
  }

  /** Hands the block to a tensor on `heap`: its offset, or undefined when it is not this heap's or was released. */
  take(heap: HeapBackend): number | undefined {
    if (!this.owned || heap !== this.heap) return undefined;
    this.owned = false;
    return this.offset;
  }
}

/**
 * One wasm heap block per byte length, allocated back to back before any of them is registered as a tensor.
 * Registering a tensor makes a small allocation of tfjs' own, which would otherwise land between two weights:
 * the weights a layer packs must lie side by side, so that the holes they leave when packed join up. Each block
 * goes to `filledTensor`, whose tensor owns and frees it.
 *
 * Below them comes `headroom`, a block a little larger than the largest weight, kept until packing starts and
 * then freed: the first packed copies fit there, and the holes the weights leave join it, instead of those
 * copies going to fresh memory until enough weights have been freed (the large model: 108 MB).
 */
export function reserveSideBySide(byteLengths: readonly number[]): ReservedBlocks {
  const heap = heapBackend();
  if (heap === null || byteLengths.length === 0 || byteLengths.some((bytes) => bytes === 0))
    return { blocks: [], headroom: null };
  // A packed copy is its weight plus the bias and XNNPACK's padding of the output channels: 1/16 more is ample.
  const largest = Math.max(...byteLengths);
  const blocks: WasmHeapBlock[] = [];
  for (const bytes of [largest + Math.ceil(largest / 16), ...byteLengths]) {
    const offset = allocate(heap, bytes);
    if (offset === 0) {
      for (const block of blocks) block.release();
      return { blocks: [], headroom: null };
    }
    blocks.push(new WasmHeapBlock(heap, offset));
  }
  const [headroom, ...weights] = blocks;
  return { blocks: weights, headroom: headroom! };
}

/**
 * A float32 tensor whose values `fill` writes straight into its place on the wasm heap (in `block` when given),
 * or null where the active backend offers no heap. A large model's weights then cross memory once (file -> heap)
 * instead of file -> JavaScript array -> heap, and no second copy of a tensor exists at any time.
 */
export function filledTensor(
  shape: readonly number[],
  fill: (target: Float32Array) => void,
  block?: HeapBlock,
): tf.Tensor | null {
  const heap = heapBackend();
  if (heap === null || shape.reduce((a, b) => a * b, 1) === 0) return null;
  const offset = block instanceof WasmHeapBlock ? block.take(heap) : undefined;
  const info = heap.makeOutput([...shape], 'float32', offset);
  const tensor = tf.engine().makeTensorFromTensorInfo(info, tf.backend());
  try {
    // The view is taken after the allocation (which may grow, and so replace, the heap), and fill allocates nothing
    // there.
    fill(heap.typedArrayFromHeap(info));
  } catch (error) {
    tensor.dispose();
    throw error;
  }
  return tensor;
}
