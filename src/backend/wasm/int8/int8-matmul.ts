/**
 * int8 matrix products on a given WebAssembly.Memory: the kernels of int8-matmul.c, built by build.ts into
 * int8-matmul-module.ts, instantiated on the caller's memory (tfjs' heap, plain or shared), with typed functions
 * that check their addresses against the memory before the module writes anything.
 *
 * out = x w^T + bias with the weights quantized per output channel at conversion (`convert --dtype int8`:
 * symmetric, one scale per channel) and the activations x quantized per row here (asymmetric, 8 bits over the
 * row's range): exact integer sums, float32 scales, bias and corrections (int8-matmul.c says how). Two builds of
 * the kernels: SIMD128 (every wasm SIMD runtime) and relaxed SIMD (faster where the runtime has it and computes it
 * right: `relaxedSimdStatus`; its weights are requantized to 7 bits, about 1.3 % error against float32 per product
 * instead of 0.9 %). Their layouts differ: weights packed by one kernel set are read only by the same set.
 */
import { BackendError, UsageError } from '../../../errors.js';
import {
  INT8_RELAXED_PLAIN,
  INT8_RELAXED_PROBE,
  INT8_RELAXED_SHARED,
  INT8_SIMD128_PLAIN,
  INT8_SIMD128_SHARED,
} from './int8-matmul-module.js';

/**
 * The instruction set a kernel set uses: SIMD128 (`i32x4.dot_i16x8_s`) or relaxed SIMD
 * (`relaxed_dot_i8x16_i7x16_add_s`).
 */
export type Int8Variant = 'simd128' | 'relaxed';

/** A part of the product: rows [rowBegin, rowEnd) and columns [colBegin, colEnd) of the output. */
export interface Int8Range {
  /** A multiple of `rowBlock` (the quantized rows are interleaved by blocks of that many rows), or rowEnd. */
  readonly rowBegin: number;
  readonly rowEnd: number;
  /** A multiple of `panelWidth` (the packed weights are read by panels of that many columns), or colEnd. */
  readonly colBegin: number;
  readonly colEnd: number;
}

/**
 * The kernels on one memory. Every address is a byte offset in `memory`; the caller allocates the buffers (sizes
 * from `quantizedBytes` and `packedBytes`; no alignment needed). Shapes: activations x (m, k) float32 row-major,
 * weights (n, k) int8 row-major (PyTorch's (out, in) layout, as `convert --dtype int8` stores them) with n float32
 * scales and an optional bias of n float32, output (m, n) float32 row-major.
 */
export interface Int8Kernels {
  readonly variant: Int8Variant;
  readonly memory: WebAssembly.Memory;
  /** Output columns per panel of packed weights: threads split the columns at multiples of it. */
  readonly panelWidth: number;
  /** Rows per block of quantized activations: a row range starts at a multiple of it. */
  readonly rowBlock: number;
  /** Bytes of m rows of k activations once quantized (the values, then each row's scale, offset and sum). */
  quantizedBytes(m: number, k: number): number;
  /** Bytes of an (n, k) weight matrix once packed (values, then each channel's scale, bias, offset and sum). */
  packedBytes(k: number, n: number): number;
  /**
   * Quantizes rows [rowBegin, rowEnd) (default all) of the m rows of k float32 activations at x into `quantized`,
   * row i at x + 4 i rowStride bytes (default k: an (m, k) matrix; less than k: overlapping rows, such as a
   * convolution's input patches). The call that quantizes row m - 1 also zeroes the padding rows of its block.
   */
  quantizeRows(
    x: number,
    m: number,
    k: number,
    quantized: number,
    rowBegin?: number,
    rowEnd?: number,
    rowStride?: number,
  ): void;
  /** Packs (n, k) int8 weights, their n scales and n biases (bias 0: none) into `packed`: once, at load. */
  packWeights(weights: number, scales: number, bias: number, k: number, n: number, packed: number): void;
  /** Writes out = the product of quantized activations and packed weights, over `range` (default all). */
  matmul(quantized: number, packed: number, out: number, m: number, k: number, n: number, range?: Int8Range): void;
  /** Bytes of scratch memory `attention` needs for one head at a time over n rows. */
  attentionScratchBytes(n: number, headDim: number): number;
  /**
   * Heads [headBegin, headEnd) of multi-head attention, every product in int8: softmax(q k^T / sqrt(headDim) +
   * bias) v of each head into its columns of `out` (n rows of `dim` floats), from `qkv` (n rows of 3 * dim floats:
   * q, k and v side by side). `bias`: 0 (none) or head h's n x n floats at bias + 4 h biasHeadStride, rows
   * biasRowStride floats apart (0: one row for every query). `scratch`: `attentionScratchBytes` bytes.
   */
  attention(
    qkv: number,
    n: number,
    dim: number,
    headDim: number,
    headBegin: number,
    headEnd: number,
    bias: number,
    biasHeadStride: number,
    biasRowStride: number,
    out: number,
    scratch: number,
  ): void;
  /** Bytes of scratch memory `warmUp` needs (about 1.2 MB). */
  readonly warmUpBytes: number;
  /**
   * Runs one mid-size product (64 x 1024 x 512) on scratch memory, overwriting its `warmUpBytes` bytes, so that V8
   * has its optimizing compiler's code for the kernels before the first real product: that one otherwise runs in
   * V8's baseline code, 3-4x slower (int8-matmul.c). Worth calling once after instantiating, well before the first
   * product (the compiler works in the background).
   */
  warmUp(scratch: number): void;
}

/** The module's exports (int8-matmul.c); addresses and sizes are i32. */
interface KernelExports {
  int8_quantized_bytes(m: number, k: number): number;
  int8_packed_bytes(k: number, n: number): number;
  int8_panel_width(): number;
  int8_row_block(): number;
  int8_warm_up_bytes(): number;
  int8_warm_up(scratch: number): void;
  int8_quantize_rows(
    x: number,
    m: number,
    k: number,
    quantized: number,
    rowBegin: number,
    rowEnd: number,
    rowStride: number,
  ): void;
  int8_pack_weights(weights: number, scales: number, bias: number, k: number, n: number, packed: number): void;
  int8_attention_scratch_bytes(n: number, headDim: number): number;
  int8_attention(
    qkv: number,
    n: number,
    dim: number,
    headDim: number,
    headBegin: number,
    headEnd: number,
    bias: number,
    biasHeadStride: number,
    biasRowStride: number,
    out: number,
    scratch: number,
  ): void;
  int8_matmul(
    quantized: number,
    packed: number,
    out: number,
    m: number,
    k: number,
    n: number,
    rowBegin: number,
    rowEnd: number,
    colBegin: number,
    colEnd: number,
  ): void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/**
 * Whether a memory is shared. Not `instanceof SharedArrayBuffer`: a page that is not cross-origin isolated has no
 * SharedArrayBuffer global, yet Chromium still makes shared memories there.
 */
export function isSharedMemory(memory: WebAssembly.Memory): boolean {
  return !(memory.buffer instanceof ArrayBuffer);
}

/** The module's bytes for a variant and a plain or shared memory (a worker instantiates the same bytes). */
export function int8ModuleBytes(variant: Int8Variant, shared: boolean): Uint8Array<ArrayBuffer> {
  if (variant === 'relaxed') return decodeBase64(shared ? INT8_RELAXED_SHARED : INT8_RELAXED_PLAIN);
  return decodeBase64(shared ? INT8_SIMD128_SHARED : INT8_SIMD128_PLAIN);
}

/**
 * Whether relaxed SIMD can be used here: `missing` where the runtime does not know the instructions (Node 20
 * without `--experimental-wasm-relaxed-simd`, older browsers), `wrong` where it knows them but the probe's dot
 * products come out wrong (Node 20's V8 with that flag: its baseline compiler overwrites the accumulator),
 * `supported` where the probe's results are exact.
 */
export type RelaxedSimdStatus = 'supported' | 'missing' | 'wrong';

interface ProbeExports {
  memory: WebAssembly.Memory;
  dot(a: number, b: number, c: number, out: number): void;
  accumulate(a: number, b: number, steps: number, out: number): void;
}

let relaxedStatus: RelaxedSimdStatus | undefined;

/** Checked once per process (the probe module is 158 bytes: compiled synchronously). */
export function relaxedSimdStatus(): RelaxedSimdStatus {
  relaxedStatus ??= probeRelaxedSimd();
  return relaxedStatus;
}

function probeRelaxedSimd(): RelaxedSimdStatus {
  const bytes = decodeBase64(INT8_RELAXED_PROBE);
  if (typeof WebAssembly.validate !== 'function' || !WebAssembly.validate(bytes)) return 'missing';
  const probe = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as ProbeExports;
  const signed = new Int8Array(probe.memory.buffer);
  const words = new Int32Array(probe.memory.buffer);
  // a: signed bytes over the whole range, b: 7-bit values, c: large accumulators; then a three-step accumulation.
  const steps = 3;
  for (let i = 0; i < 16 * steps; i++) {
    signed[i] = ((i * 37 + 11) % 256) - 128;
    signed[256 + i] = (i * 53 + 5) % 128;
  }
  signed.set([-128, -128, -128, -128], 0);
  signed.set([127, 127, 127, 127], 256);
  words.set([1 << 30, -(1 << 30), 12345, -1], 512 / 4);
  const expected = (steps: number, c: readonly number[]) =>
    c.map((start, lane) => {
      let sum = start;
      for (let s = 0; s < steps; s++) {
        for (let j = 0; j < 4; j++) sum += signed[16 * s + 4 * lane + j]! * signed[256 + 16 * s + 4 * lane + j]!;
      }
      return sum | 0;
    });
  probe.dot(0, 256, 512, 768);
  probe.accumulate(0, 256, steps, 784);
  const same = (at: number, values: number[]) => values.every((v, lane) => words[at / 4 + lane] === v);
  const right = same(768, expected(1, [1 << 30, -(1 << 30), 12345, -1])) && same(784, expected(steps, [0, 0, 0, 0]));
  return right ? 'supported' : 'wrong';
}

/** The variant `auto` picks: relaxed SIMD where it is supported, else SIMD128. */
export function bestInt8Variant(): Int8Variant {
  return relaxedSimdStatus() === 'supported' ? 'relaxed' : 'simd128';
}

/**
 * Instantiates a kernel set on `memory` (compiled asynchronously: browsers refuse large synchronous compiles on
 * their main thread). `auto` takes relaxed SIMD where `relaxedSimdStatus()` is `supported`; asking for `relaxed`
 * elsewhere throws.
 */
export async function instantiateInt8Kernels(
  memory: WebAssembly.Memory,
  variant: Int8Variant | 'auto' = 'auto',
): Promise<Int8Kernels> {
  const chosen = variant === 'auto' ? bestInt8Variant() : variant;
  if (chosen === 'relaxed' && relaxedSimdStatus() !== 'supported') {
    const status = relaxedSimdStatus();
    throw new BackendError(
      'BACKEND_UNAVAILABLE',
      `The relaxed SIMD int8 kernels cannot run here (relaxed SIMD is ${status}). Use the 'simd128' variant or 'auto'.`,
    );
  }
  const module = await WebAssembly.compile(int8ModuleBytes(chosen, isSharedMemory(memory)));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return wrapKernels(instance.exports as unknown as KernelExports, memory, chosen);
}

function fail(what: string): never {
  throw new UsageError(
    'INVALID_ARGUMENT',
    `int8 kernels: ${what}. This is a bug in the caller of src/backend/wasm/int8.`,
  );
}

function checkCount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0x7fffffff) fail(`${name} is ${value}, not a count`);
}

/** Any whole number of floats from 1 (overlapping rows); the buffer check bounds the rows' span by the memory. */
function checkRowStride(rowStride: number): void {
  if (!Number.isSafeInteger(rowStride) || rowStride < 1) fail(`the row stride is ${rowStride}, not a count of floats`);
}

/** Bytes that m rows of k floats, rowStride floats apart, span. */
export function rowsBytes(m: number, k: number, rowStride: number): number {
  return m === 0 ? 0 : 4 * ((m - 1) * rowStride + k);
}

function wrapKernels(kernels: KernelExports, memory: WebAssembly.Memory, variant: Int8Variant): Int8Kernels {
  const panelWidth = kernels.int8_panel_width();
  const rowBlock = kernels.int8_row_block();
  /** [begin, end) within [0, total), begin a multiple of unit (or the range empty). */
  const checkRange = (what: string, begin: number, end: number, total: number, unit: number, unitName: string) => {
    const integers = Number.isSafeInteger(begin) && Number.isSafeInteger(end);
    if (!(integers && begin >= 0 && begin <= end && end <= total))
      fail(`${what} [${begin}, ${end}) are not within [0, ${total})`);
    if (begin % unit !== 0 && begin !== end)
      fail(`the first of the ${what} ${begin} is not a multiple of the ${unitName} ${unit}`);
  };
  const checkRows = (rowBegin: number, rowEnd: number, m: number) =>
    checkRange('rows', rowBegin, rowEnd, m, rowBlock, 'row block');
  const checkShape = (m: number, k: number, n: number) => {
    checkCount('m', m);
    checkCount('n', n);
    checkCount('k', k);
    // int32 sums stay exact below 2^31 / 127^2 products; the padded sizes stay far from 2^31 bytes.
    if (k < 1 || k > 100_000) fail(`k is ${k}, outside 1..100000`);
    if (m * k > 2 ** 29 || n * k > 2 ** 29 || m * n > 2 ** 28)
      fail(`the shape (${m}, ${k}) x (${k}, ${n}) is too large`);
  };
  const checkBuffer = (name: string, address: number, bytes: number) => {
    checkCount(name, address);
    const size = memory.buffer.byteLength;
    if (address + bytes > size) fail(`${name} (${bytes} bytes at ${address}) ends beyond the memory (${size} bytes)`);
  };
  const quantizedBytes = (m: number, k: number) => {
    checkShape(m, k, 0);
    return kernels.int8_quantized_bytes(m, k);
  };
  const packedBytes = (k: number, n: number) => {
    checkShape(0, k, n);
    return kernels.int8_packed_bytes(k, n);
  };
  const warmUpBytes = kernels.int8_warm_up_bytes();
  return {
    variant,
    memory,
    panelWidth,
    rowBlock,
    warmUpBytes,
    warmUp(scratch) {
      checkBuffer('scratch', scratch, warmUpBytes);
      kernels.int8_warm_up(scratch);
    },
    quantizedBytes,
    packedBytes,
    quantizeRows(x, m, k, quantized, rowBegin = 0, rowEnd = m, rowStride = k) {
      checkShape(m, k, 0);
      checkRows(rowBegin, rowEnd, m);
      checkRowStride(rowStride);
      checkBuffer('x', x, rowsBytes(m, k, rowStride));
      checkBuffer('quantized', quantized, kernels.int8_quantized_bytes(m, k));
      kernels.int8_quantize_rows(x, m, k, quantized, rowBegin, rowEnd, rowStride);
    },
    packWeights(weights, scales, bias, k, n, packed) {
      checkShape(0, k, n);
      checkBuffer('weights', weights, n * k);
      checkBuffer('scales', scales, 4 * n);
      if (bias !== 0) checkBuffer('bias', bias, 4 * n);
      checkBuffer('packed', packed, kernels.int8_packed_bytes(k, n));
      kernels.int8_pack_weights(weights, scales, bias, k, n, packed);
    },
    attentionScratchBytes(n, headDim) {
      checkShape(n, headDim, n);
      checkShape(n, n, headDim);
      return kernels.int8_attention_scratch_bytes(n, headDim);
    },
    attention(qkv, n, dim, headDim, headBegin, headEnd, bias, biasHeadStride, biasRowStride, out, scratch) {
      checkShape(n, headDim, n);
      checkShape(n, n, headDim);
      checkCount('dim', dim);
      const heads = dim / headDim;
      if (!Number.isInteger(heads)) fail(`dim ${dim} is not a whole number of heads of ${headDim}`);
      checkRange('heads', headBegin, headEnd, heads, 1, 'head');
      checkBuffer('qkv', qkv, 4 * n * 3 * dim);
      checkBuffer('out', out, 4 * n * dim);
      checkBuffer('scratch', scratch, kernels.int8_attention_scratch_bytes(n, headDim));
      if (bias !== 0) {
        checkCount('biasHeadStride', biasHeadStride);
        checkCount('biasRowStride', biasRowStride);
        checkBuffer('bias', bias, 4 * ((heads - 1) * biasHeadStride + (n - 1) * biasRowStride + n));
      }
      kernels.int8_attention(
        qkv,
        n,
        dim,
        headDim,
        headBegin,
        headEnd,
        bias,
        biasHeadStride,
        biasRowStride,
        out,
        scratch,
      );
    },
    matmul(quantized, packed, out, m, k, n, range = { rowBegin: 0, rowEnd: m, colBegin: 0, colEnd: n }) {
      checkShape(m, k, n);
      const { rowBegin, rowEnd, colBegin, colEnd } = range;
      checkRows(rowBegin, rowEnd, m);
      checkRange('columns', colBegin, colEnd, n, panelWidth, 'panel width');
      checkBuffer('quantized', quantized, kernels.int8_quantized_bytes(m, k));
      checkBuffer('packed', packed, kernels.int8_packed_bytes(k, n));
      checkBuffer('out', out, 4 * m * n);
      kernels.int8_matmul(quantized, packed, out, m, k, n, rowBegin, rowEnd, colBegin, colEnd);
    },
  };
}
