/**
 * Keeps a weight matrix on the wasm backend only in XNNPACK's packed form.
 *
 * tfjs-backend-wasm 4.22 hands every plain 2-D (fused) product to XNNPACK, which packs the weight matrix (B) and
 * the bias into its own layout on the first call and caches that operator under (B's id, the bias's id, the
 * activation) until B or the bias is disposed. From then on the product reads only the packed copy, yet B's own
 * bytes stay on the wasm heap: every weight matrix is held twice (the large model: 1.15 GB more, the reason its
 * process peaked near 2.9 GB).
 *
 * `packWeight` runs that first product on one row of zeros, then frees B's own bytes and leaves the tensor as the
 * handle that keeps the packed copy alive. The registry loads such weights side by side and packs them in one
 * sweep, in load order (ParameterSet.packNext in src/layers/parameters.ts): each packed copy is made before the
 * next weight's bytes are freed, so the freed weights form one moving hole that takes the packed copies after
 * them, and the weights end up on the heap about once.
 *
 * Such a tensor must afterwards only be the B of the same fused product (same bias, no activation): anything that
 * reads it (dataSync, another kernel, tfjs moving it to another backend) would read freed memory. `Linear` is the
 * one user and refuses to run once the backend changed. Only done on the tfjs-backend-wasm release whose C++
 * kernel (batch_mat_mul_impl.cc: operator cache keyed by B's id) this relies on, checked at run time; on any
 * other release, backend or tensor both copies stay, as tfjs keeps them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The tfjs-backend-wasm release whose BatchMatMul/_FusedMatMul kernel was read for this. */
const VERIFIED_WASM_VERSION = '4.22.0';

/** What this module reads of the wasm backend's bookkeeping for one tensor (backend_wasm.ts, TensorData). */
interface WasmTensorData {
  memoryOffset: number | null;
  refCount: number;
}

/**
 * Packs `weight` (in, out) with `bias` (out) into XNNPACK's operator cache by one product, as `tf.fused.matMul`
 * with that bias and no activation caches it, then frees the weight's own bytes. Returns the backend that now
 * holds the only copy, or null when it did nothing (not wasm, another tfjs-backend-wasm release, a variable, a
 * tensor that shares its data or lives on another backend): then the weight is untouched.
 */
export function packWeight(weight: tf.Tensor, bias: tf.Tensor | undefined): tf.KernelBackend | null {
  if (tf.getBackend() !== 'wasm' || version_wasm !== VERIFIED_WASM_VERSION) return null;
  if (weight instanceof tf.Variable || weight.dtype !== 'float32' || weight.rank !== 2 || weight.size === 0) return null;
  const backend = tf.backend() as BackendWasm;
  const data = backend.dataIdMap.get(weight.dataId) as WasmTensorData | undefined;
  if (!data || !data.memoryOffset || data.refCount !== 1) return null;
  if (bias && !backend.dataIdMap.has(bias.dataId)) return null;
  const free = (backend.wasm as unknown as { _free?: (pointer: number) => void })._free;
  if (typeof free !== 'function') return null;
  // The product that creates and caches the packed operator: one row, so it costs only the packing.
  tf.tidy(() => tf.fused.matMul({ a: tf.zeros([1, weight.shape[0]!]), b: weight as tf.Tensor2D, bias })).dispose();
  free(data.memoryOffset);
  // Its disposal then frees nothing (free(0) is a no-op) and still drops the packed copy with the tensor's id.
  data.memoryOffset = 0;
  return backend;
}
