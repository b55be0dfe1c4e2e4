/**
 * Halves the memory of a model's weight matrices on the wasm backend.
 *
 * tfjs-backend-wasm 4.22 hands every plain 2-D product to XNNPACK, which packs the weight matrix (B) into its own
 * layout on the first call and keeps that packed copy, cached under the weight tensor's id, until the tensor is
 * disposed. From then on the product reads only the packed copy, yet the tensor's own bytes stay on the wasm
 * heap: every Linear weight is held twice (the large model: 1.15 GB more). Once the packed copy exists, this
 * frees the tensor's bytes and leaves the tensor as the handle that keeps the packed copy alive.
 *
 * Such a tensor must afterwards only be the B of the same fused product (same bias, no activation): anything
 * that reads it (dataSync, another kernel, a move to another backend) would read freed memory. `Linear` is
 * the one user and guards against the backend changing under it. Only done on the tfjs-backend-wasm version
 * whose kernel this relies on (checked at run time); any other version keeps both copies.
 */
import * as tf from '@tensorflow/tfjs-core';
import { version_wasm, type BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The tfjs-backend-wasm release whose BatchMatMul/_FusedMatMul C++ kernel was read for this (operator cache by B's id). */
const VERIFIED_WASM_VERSION = '4.22.0';

interface WasmTensorData {
  memoryOffset: number | null;
  refCount: number;
}

/**
 * Frees the unpacked bytes of `weight`, which must just have been the B of a non-transposed 2-D (fused) product
 * on the wasm backend. Returns the backend it did so on, or null when it did nothing (another backend, another
 * tfjs version, a variable, a tensor that shares its data).
 */
export function releaseUnpackedWeight(weight: tf.Tensor): tf.KernelBackend | null {
  if (tf.getBackend() !== 'wasm' || version_wasm !== VERIFIED_WASM_VERSION) return null;
  if (weight instanceof tf.Variable || weight.dtype !== 'float32' || weight.rank !== 2) return null;
  const backend = tf.backend() as BackendWasm;
  const data = backend.dataIdMap.get(weight.dataId) as WasmTensorData | undefined;
  if (!data || !data.memoryOffset || data.refCount !== 1) return null;
  (backend.wasm as unknown as { _free(pointer: number): void })._free(data.memoryOffset);
  // Its disposal then frees nothing (free(0) is a no-op) and still drops the packed copy with the tensor id.
  data.memoryOffset = 0;
  return backend;
}
