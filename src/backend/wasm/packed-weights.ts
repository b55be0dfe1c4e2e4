/**
 * Keeps a weight matrix on the wasm backend only in XNNPACK's packed form.
 *
 * tfjs-backend-wasm 4.22 hands every plain 2-D (fused) product to XNNPACK, which packs the weight matrix (B) and
 * the bias into its own layout on the first call and caches that operator under (B's id, the bias's id, the
 * activation) until B or the bias is disposed. From then on the product reads only the packed copy, yet B's own
 * bytes stay on the wasm heap: every weight matrix is held twice (the large model: 1.15 GB more, the reason its
 * process peaked near 2.9 GB).
 *
 * `packWeight` runs that first product on one row (checking its result), then frees B's own bytes and leaves
 * the tensor as the handle that keeps the packed copy alive. The registry loads such weights side by side and
 * packs them in one sweep, in load order (ParameterSet.packNext in src/layers/parameters.ts): each packed copy
 * is made before the next weight's bytes are freed, so the freed weights form one moving hole that takes the
 * packed copies after them, and the weights end up on the heap about once.
 *
 * Such a tensor must afterwards only be the B of the same fused product (same bias, no activation): anything that
 * reads it (dataSync, another kernel, tfjs moving it to another backend) would read freed memory. `Linear` is the
 * one user and refuses to run once the backend changed. Only done on the tfjs-backend-wasm release whose C++
 * kernel (batch_mat_mul_impl.cc: operator cache keyed by B's id) this relies on, checked at run time; on any
 * other release, backend or tensor both copies stay, as tfjs keeps them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { VERIFIED_WASM_VERSION, wasmTensorData } from './heap.js';

/**
 * Packs `weight` (in, out) with `bias` (out) into XNNPACK's operator cache by one product, as `tf.fused.matMul`
 * with that bias and no activation caches it, then frees the weight's own bytes. Returns the backend that now
 * holds the only copy, or null when it did nothing (not wasm, another tfjs-backend-wasm release, a variable, a
 * tensor that shares its data or lives on another backend): then the weight is untouched.
 */
export function packWeight(weight: tf.Tensor, bias: tf.Tensor | undefined): tf.KernelBackend | null {
  if (tf.getBackend() !== 'wasm' || version_wasm !== VERIFIED_WASM_VERSION) return null;
  if (weight instanceof tf.Variable || weight.dtype !== 'float32' || weight.rank !== 2 || weight.size === 0)
    return null;
  const backend = tf.backend() as BackendWasm;
  const data = wasmTensorData(backend, weight);
  if (!data || !data.memoryOffset || data.refCount !== 1) return null;
  if (bias && !backend.dataIdMap.has(bias.dataId)) return null;
  const free = (backend.wasm as unknown as { _free?: (pointer: number) => void })._free;
  if (typeof free !== 'function') return null;
  // The product that creates and caches the packed operator: one row, so it costs only the packing. The row is
  // e_0, so its result must be the weight's first row plus the bias, exactly: anything else (XNNPACK could not
  // create the operator, for want of memory, and tfjs only warned) keeps the weight as it is.
  const [inFeatures, outFeatures] = weight.shape as [number, number];
  const unit = new Float32Array(inFeatures);
  unit[0] = 1;
  const product = tf.tidy(() =>
    tf.fused.matMul({ a: tf.tensor2d(unit, [1, inFeatures]), b: weight as tf.Tensor2D, bias }),
  );
  const got = product.dataSync();
  product.dispose();
  const firstRow = backend.typedArrayFromHeap(weight).subarray(0, outFeatures);
  const offsets = bias?.dataSync();
  for (let j = 0; j < outFeatures; j++) {
    if (got[j] !== Math.fround(firstRow[j]! + (offsets?.[j] ?? 0))) return null;
  }
  free(data.memoryOffset);
  // Its disposal then frees nothing (free(0) is a no-op) and still drops the packed copy with the tensor's id.
  data.memoryOffset = 0;
  return backend;
}
