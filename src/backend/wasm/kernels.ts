/**
 * The kernel interface (src/backend/kernels.ts) on the wasm backend: the fused GELU kernels, the in-place slice,
 * packed weights, int8 weights and products, and tensors filled on the heap; the plain tfjs ops for the rest, and
 * wherever a fast path does not apply (another dtype, a runtime without wasm SIMD, another tfjs-backend-wasm
 * release).
 *
 * The kernels are registered with tfjs under this project's own names, for the wasm backend only, when
 * `selectBackend` starts it (`registerWasmKernels`), never at import: no stock tfjs kernel is replaced, so other
 * tfjs code in the process runs as it would without this package.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Kernels } from '../kernels.js';
import { attentionWith, groupedConv1dWith, plainKernels } from '../plain-kernels.js';
import {
  GELU_KERNEL,
  GELU_KERNEL_CONFIGS,
  LAYER_NORM_GELU_KERNEL,
  wasmGeluKernelsFor,
  type LayerNormGeluAttrs,
} from './gelu-kernels.js';
import { filledTensor, reserveSideBySide } from './heap.js';
import {
  INT8_ATTENTION_KERNEL_CONFIG,
  INT8_LINEAR_KERNEL_CONFIG,
  int8Attention,
  int8Conv1d,
  int8GroupedConv1d,
  int8Linear,
  int8Weight,
  int8WeightBytes,
  isUnpackedInt8Weight,
  packInt8Weight,
  startInt8Compute,
} from './int8-linear.js';
import type { Int8WorkerStarter } from './int8/int8-threads.js';
import { packWeight } from './packed-weights.js';
import { SLICE_KERNEL, SLICE_KERNEL_CONFIG } from './slice-kernel.js';

let registered = false;
/** How the runtime starts the int8 products' worker threads (Node: worker_threads), if it can. */
let startInt8Worker: Int8WorkerStarter | undefined;

/**
 * Registers this project's wasm kernels with tfjs (once); called by selectBackend when wasm becomes active, with
 * the runtime's way to start the int8 products' worker threads (none: they run on the calling thread).
 */
export function registerWasmKernels(int8Workers?: Int8WorkerStarter): void {
  startInt8Worker ??= int8Workers;
  if (registered) return;
  for (const config of [
    ...GELU_KERNEL_CONFIGS,
    SLICE_KERNEL_CONFIG,
    INT8_LINEAR_KERNEL_CONFIG,
    INT8_ATTENTION_KERNEL_CONFIG,
  ]) {
    if (!tf.getKernel(config.kernelName, config.backendName)) tf.registerKernel(config);
  }
  registered = true;
}

/** Whether `registerWasmKernels` ran: until then, the kernel interface runs the plain ops on wasm too. */
export function wasmKernelsRegistered(): boolean {
  return registered;
}

/** An int8 weight is only a handle until packed: a float32 op would read its bytes as values. */
function checkPrepared(op: string, weight: tf.Tensor): void {
  if (isUnpackedInt8Weight(weight))
    throw new Error(`${op}: an int8 weight must be prepared (prepareLinearWeight) before its first product`);
}

/** The float32 grouped convolution and attention with this backend's in-place slices. */
const floatGroupedConv1d = groupedConv1dWith((x, begin, size) => wasmKernels.slice(x, begin, size));
const floatAttention = attentionWith((x, begin, size) => wasmKernels.slice(x, begin, size));

export const wasmKernels: Kernels = {
  ...plainKernels,
  linear(x, weights) {
    if (weights.prepared?.kind === 'int8') return int8Linear(x, weights.weight, weights.prepared);
    checkPrepared('linear', weights.weight);
    return plainKernels.linear(x, weights);
  },
  conv1d(x, weights) {
    if (weights.prepared?.kind === 'int8')
      return int8Conv1d(x, weights.weight, weights.prepared, weights.kernel, weights.stride);
    checkPrepared('conv1d', weights.weight);
    return plainKernels.conv1d(x, weights);
  },
  groupedConv1d(x, weights) {
    if (weights.prepared?.kind === 'int8')
      return int8GroupedConv1d(x, weights.weight, weights.prepared, weights.kernel, weights.groups);
    checkPrepared('groupedConv1d', weights.weight);
    return floatGroupedConv1d(x, weights);
  },
  attention(qkv, options) {
    const { bias, item, heads } = options;
    return (options.int8 ? int8Attention(qkv, bias, item, heads) : null) ?? floatAttention(qkv, options);
  },
  prepareLinearWeight(weight, bias) {
    if (isUnpackedInt8Weight(weight)) return packInt8Weight(weight, bias);
    const backend = packWeight(weight, bias);
    return backend === null ? null : { kind: 'packed', backend };
  },
  gelu(x) {
    if (!wasmGeluKernelsFor(x)) return plainKernels.gelu(x);
    return tf.engine().runKernel(GELU_KERNEL, { x }) as tf.Tensor;
  },
  layerNormGelu(x, eps, weight, bias, inPlace) {
    if (!weight || !bias || weight.dtype !== 'float32' || bias.dtype !== 'float32' || !wasmGeluKernelsFor(x)) {
      return plainKernels.layerNormGelu(x, eps, weight, bias, inPlace);
    }
    const attrs: LayerNormGeluAttrs = { eps, inPlace };
    return tf
      .engine()
      .runKernel(LAYER_NORM_GELU_KERNEL, { x, weight, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  },
  slice(x, begin, size) {
    if (x.dtype === 'string' || x.rank === 0) return plainKernels.slice(x, begin, size);
    return tf.engine().runKernel(SLICE_KERNEL, { x }, { begin: [...begin], size: [...size] }) as typeof x;
  },
  filledTensor: (shape, fill, block) => filledTensor(shape, fill, block) ?? plainKernels.filledTensor(shape, fill),
  reserveSideBySide,
  startInt8Compute: () => startInt8Compute(startInt8Worker),
  int8WeightBytes,
  int8Weight,
};
