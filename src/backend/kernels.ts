/**
 * The kernel interface: everything a layer computes that a backend may do its own way. Layers call these
 * functions and tfjs-core ops, nothing else of a backend.
 *
 * Each call takes the implementation of the active tfjs backend: on 'wasm', once `selectBackend` has set it up,
 * the wasm one (src/backend/wasm/kernels.ts: fused SIMD kernels, in-place slices, packed weights, weights read
 * straight into the wasm heap); on every other backend (cpu, webgl, webgpu, tensorflow) the plain tfjs ops of
 * src/backend/plain-kernels.ts, which are also the reference the fast paths are tested against. Both give the
 * same numbers within float32 rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UsageError } from '../errors.js';
import { plainKernels } from './plain-kernels.js';
import { wasmKernels, wasmKernelsRegistered } from './wasm/kernels.js';

/**
 * A weight matrix in a backend's own form, made by {@link prepareLinearWeight}. The layer's tensor stays its
 * owner (disposing the tensor frees this form too) but no longer holds readable values: it may only be the
 * weight of {@link linear}, with the same bias, while `backend` is active.
 *
 * - `'packed'`: XNNPACK's packed copy in the wasm backend's operator cache; the tensor's own bytes were freed
 *   (src/backend/wasm/packed-weights.ts).
 * - `'int8'`: int8 values with one scale per output channel and the bias, in the layout of the int8 kernels, in
 *   the tensor's own heap block (src/backend/wasm/int8-linear.ts); made from a weight read by {@link int8Weight}.
 */
export type PreparedWeight =
  | { readonly kind: 'packed'; readonly backend: tf.KernelBackend }
  | {
      readonly kind: 'int8';
      readonly backend: tf.KernelBackend;
      readonly inFeatures: number;
      readonly outFeatures: number;
    };

/** The operands of {@link linear}, as a Linear layer holds them. */
export interface LinearWeights {
  /**
   * (in, out) float32: torch's (out, in) weight transposed; or a weight read by {@link int8Weight}. A handle only
   * once `prepared` is set.
   */
  readonly weight: tf.Tensor;
  /** (out), added inside the product. */
  readonly bias?: tf.Tensor;
  /** What {@link prepareLinearWeight} made of `weight`; null or absent: its plain values, on any backend. */
  readonly prepared?: PreparedWeight | null;
}

/** The operands of {@link conv1d}: a Conv1d without bias, as the CNN feature extractor holds them. */
export interface ConvWeights {
  /**
   * (kernel, in, out) float32, tf.conv1d's filter; or, once `prepared` is set, an int8 weight read by
   * {@link int8Weight} as (out, kernel * in) with each tap's `in` values together, taps in order.
   */
  readonly weight: tf.Tensor;
  readonly kernel: number;
  readonly stride: number;
  /** What {@link prepareLinearWeight} made of an int8 `weight`; null or absent: float32 `weight`, any backend. */
  readonly prepared?: PreparedWeight | null;
}

/** The operands of {@link groupedConv1d}: a grouped Conv1d with bias, as the positional encoder holds them. */
export interface GroupedConvWeights {
  /**
   * (groups, kernel * in / groups, out / groups) float32: each group's patch (taps first) to its own channels; or,
   * once `prepared` is set, an int8 weight read by {@link int8Weight} as (out, kernel * in / groups), taps first.
   */
  readonly weight: tf.Tensor;
  /** (out). */
  readonly bias: tf.Tensor;
  readonly kernel: number;
  readonly groups: number;
  /** What {@link prepareLinearWeight} made of an int8 `weight` (with the bias); null or absent: float32. */
  readonly prepared?: PreparedWeight | null;
}

/** What {@link attention} takes besides the projected rows. */
export interface AttentionOptions {
  /** Added to every head's scores: broadcastable (B|1, H|1, N|1, N), or null for none. */
  readonly bias: tf.Tensor4D | null;
  /** The batch item the rows are (its slice of the bias). */
  readonly item: number;
  readonly heads: number;
  /** Compute the per-head products in int8 where the backend has int8 products (a model computing in int8). */
  readonly int8: boolean;
}

/** A block of wasm heap reserved for one tensor by {@link reserveSideBySide}. */
export interface HeapBlock {
  /** Frees the block, unless a tensor took it ({@link filledTensor}); does nothing the second time. */
  release(): void;
}

/** What {@link reserveSideBySide} reserved: nothing, on a backend without a heap of its own. */
export interface ReservedBlocks {
  /** One block per requested byte length, in order, back to back. */
  readonly blocks: readonly HeapBlock[];
  /** A block below them, a little larger than the largest, to release when packing starts. */
  readonly headroom: HeapBlock | null;
}

/**
 * What each backend's implementation provides (src/backend/plain-kernels.ts, src/backend/wasm/kernels.ts); each
 * member computes what the function of the same name below documents, and those functions pick one per call.
 */
export interface Kernels {
  linear(x: tf.Tensor, weights: LinearWeights): tf.Tensor;
  conv1d(x: tf.Tensor3D, weights: ConvWeights): tf.Tensor3D;
  groupedConv1d(x: tf.Tensor3D, weights: GroupedConvWeights): tf.Tensor3D;
  attention(qkv: tf.Tensor2D, options: AttentionOptions): tf.Tensor2D;
  prepareLinearWeight(weight: tf.Tensor, bias: tf.Tensor | undefined): PreparedWeight | null;
  gelu(x: tf.Tensor): tf.Tensor;
  layerNorm(x: tf.Tensor, eps: number, weight?: tf.Tensor, bias?: tf.Tensor): tf.Tensor;
  layerNormGelu(
    x: tf.Tensor,
    eps: number,
    weight: tf.Tensor | undefined,
    bias: tf.Tensor | undefined,
    inPlace: boolean,
  ): tf.Tensor;
  slice<T extends tf.Tensor>(x: T, begin: readonly number[], size: readonly number[]): T;
  filledTensor(shape: readonly number[], fill: (target: Float32Array) => void, block?: HeapBlock): tf.Tensor;
  reserveSideBySide(byteLengths: readonly number[]): ReservedBlocks;
  startInt8Compute(): Promise<string | null>;
  int8WeightBytes(outFeatures: number, inFeatures: number, use?: Int8WeightUse): number | null;
  int8Weight(
    shape: readonly [number, number],
    fill: (values: Int8Array, scales: Float32Array) => void,
    block?: HeapBlock,
  ): tf.Tensor | null;
}

function active(): Kernels {
  return tf.getBackend() === 'wasm' && wasmKernelsRegistered() ? wasmKernels : plainKernels;
}

/**
 * x · W + b over the last axis of `x` (any leading axes): x (..., in), W (in, out), b (out) -> (..., out), as
 * torch.nn.Linear with W stored transposed. One fused product with the bias inside it, on every backend (on wasm
 * XNNPACK's, which packs W and b together). Throws `BACKEND_CHANGED` (UsageError) when the weight was prepared
 * on a backend that is no longer the active one: tfjs cannot move a prepared weight.
 */
export function linear(x: tf.Tensor, weights: LinearWeights): tf.Tensor {
  checkBackend(weights.prepared);
  return active().linear(x, weights);
}

/**
 * Conv1d without bias and 'valid' padding: x (B, T, in) -> (B, floor((T - kernel) / stride) + 1, out), as
 * torch.nn.Conv1d(bias=False) on channels-last frames. tf.conv1d on every backend; with an int8 weight (wasm, int8
 * compute) the int8 products, each output frame's patch read in place from x.
 */
export function conv1d(x: tf.Tensor3D, weights: ConvWeights): tf.Tensor3D {
  checkBackend(weights.prepared);
  return active().conv1d(x, weights);
}

/**
 * Grouped Conv1d with bias and "same" padding, as torch.nn.Conv1d(C, C, k, padding=k//2, groups=G) followed by
 * upstream's SamePad (which drops the extra last frame when k is even): x (B, T, in) -> (B, T, out); frames outside
 * [0, T) count as zeros. Every backend: each group one 2-D product on gathered patches; with an int8 weight (wasm,
 * int8 compute) the int8 products, each group's patches read in place.
 */
export function groupedConv1d(x: tf.Tensor3D, weights: GroupedConvWeights): tf.Tensor3D {
  checkBackend(weights.prepared);
  return active().groupedConv1d(x, weights);
}

/**
 * Multi-head scaled dot-product attention of one item over its projected rows: qkv (N, 3D), q, k and v side by
 * side, head h in columns h * D / H... of each -> (N, D), each head's softmax(q k^T / sqrt(D / H) + bias) v in
 * its columns. Every backend: per head, plain 2-D products; with `int8` on wasm (int8 compute), every product in
 * int8 and the softmax fused, the heads split between the threads.
 */
export function attention(qkv: tf.Tensor2D, options: AttentionOptions): tf.Tensor2D {
  return active().attention(qkv, options);
}

/** Throws `BACKEND_CHANGED` (UsageError) when a weight was prepared on a backend that is no longer the active one. */
function checkBackend(prepared: PreparedWeight | null | undefined): void {
  if (prepared && tf.backend() !== prepared.backend) {
    throw new UsageError(
      'BACKEND_CHANGED',
      `This model's weights live packed in the wasm backend it was loaded on, but the active backend is now '${tf.getBackend()}': ` +
        'load the model again on the backend that should run it (tfjs cannot move packed weights).',
    );
  }
}

/**
 * Turns a Linear layer's loaded weight (in, out) and bias into the active backend's own form and frees what that
 * form no longer needs, or returns null and leaves both as they are. Fast path: wasm (tfjs-backend-wasm 4.22,
 * plain float32 tensors), where the weight is packed for XNNPACK and its unpacked bytes freed, so the weights
 * take their memory once instead of twice; a weight read by {@link int8Weight} is packed for the int8 kernels
 * (always: it has no other form to compute with). Every other backend: null.
 */
export function prepareLinearWeight(weight: tf.Tensor, bias: tf.Tensor | undefined): PreparedWeight | null {
  return active().prepareLinearWeight(weight, bias);
}

/**
 * The exact (erf) GELU of torch.nn.GELU(): x/2 * (1 + erf(x / sqrt(2))), elementwise. Fast path: wasm, float32
 * (one SIMD pass, erf within 1.5e-7 as tfjs' own); elsewhere tfjs' erf and four elementwise ops.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return active().gelu(x);
}

/**
 * LayerNorm over the last axis, as torch.nn.LayerNorm: (x - mean) / sqrt(var + eps) with the biased variance,
 * then `* weight + bias` when both are given. tfjs ops on every backend.
 */
export function layerNorm(x: tf.Tensor, eps: number, weight?: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return active().layerNorm(x, eps, weight, bias);
}

/**
 * gelu(layerNorm(x, eps, weight, bias)). Fast path: wasm with float32 `x`, `weight` and `bias` (one SIMD pass
 * over the rows); with `inPlace` it writes over x's own data when no other tensor shares it (then `x` must not
 * be used afterwards). Elsewhere, and without the affine part, the two formulations above, into a new tensor.
 */
export function layerNormGelu(
  x: tf.Tensor,
  eps: number,
  weight?: tf.Tensor,
  bias?: tf.Tensor,
  inPlace = false,
): tf.Tensor {
  return active().layerNormGelu(x, eps, weight, bias, inPlace);
}

/**
 * The box [begin, begin + size) of `x`, as tf.slice (a size of -1 runs to the end of its axis). Fast path:
 * wasm, where it copies only the box out of the heap (tfjs' own wasm Slice first reads the whole input back
 * into JavaScript); elsewhere tf.slice.
 */
export function slice<T extends tf.Tensor>(x: T, begin: readonly number[], size: readonly number[]): T {
  return active().slice(x, begin, size);
}

/**
 * A float32 tensor of `shape` whose values `fill` writes (row-major, exactly the element count). Fast path:
 * wasm, where the tensor is allocated first (in `block` when given, which it then owns) and `fill` writes into
 * its place on the heap, so a weight read from a file crosses memory once and never exists twice. Elsewhere, a
 * fresh array handed to tf.tensor.
 */
export function filledTensor(
  shape: readonly number[],
  fill: (target: Float32Array) => void,
  block?: HeapBlock,
): tf.Tensor {
  return active().filledTensor(shape, fill, block);
}

/**
 * Reserves one heap block per byte length, back to back, for the weights a layer prepares (see
 * {@link prepareLinearWeight}), so that the holes they leave when prepared join up, plus a headroom block below
 * them that takes the first prepared copies. wasm only (all or nothing); elsewhere no blocks.
 */
export function reserveSideBySide(byteLengths: readonly number[]): ReservedBlocks {
  return active().reserveSideBySide(byteLengths);
}

/**
 * Starts what int8 products need on the active backend (wasm: the int8 kernels on tfjs' heap, compiled, warmed up
 * and given their threads; once per backend). Resolves to null when {@link int8Weight} can be used from now on,
 * else to the reason it cannot (every backend but wasm, a runtime without wasm SIMD): the caller then computes in
 * float32.
 */
export function startInt8Compute(): Promise<string | null> {
  return active().startInt8Compute();
}

/**
 * What an int8 weight is for: a Linear layer's product, or a convolution's (its input patches read in place, see
 * {@link conv1d} and {@link groupedConv1d}; `groups`: each group's products take its share of the output channels).
 */
export type Int8WeightUse = { readonly kind: 'linear' } | { readonly kind: 'convolution'; readonly groups: number };

/**
 * Bytes {@link int8Weight} takes for an (out, in) weight used as `use` (default 'linear'), for
 * {@link reserveSideBySide}; null where it cannot be used so (the weight is then read as float32).
 */
export function int8WeightBytes(
  outFeatures: number,
  inFeatures: number,
  use: Int8WeightUse = { kind: 'linear' },
): number | null {
  return active().int8WeightBytes(outFeatures, inFeatures, use);
}

/**
 * A Linear layer's weight held as int8 with one scale per output channel: `fill` writes the int8 values (`shape`
 * = [out, in], PyTorch's layout, row-major; `value = q * scales[out]`) and the scales straight into the backend's
 * memory (in `block` when given, which the tensor then owns). The tensor is a handle, only for
 * {@link prepareLinearWeight} and then {@link linear}. Null where int8 products have not been started
 * ({@link startInt8Compute}).
 */
export function int8Weight(
  shape: readonly [number, number],
  fill: (values: Int8Array, scales: Float32Array) => void,
  block?: HeapBlock,
): tf.Tensor | null {
  return active().int8Weight(shape, fill, block);
}
