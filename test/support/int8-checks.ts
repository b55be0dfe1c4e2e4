/**
 * The int8 kernels' correctness checks, run for one variant on a fresh memory and summed up as a report: run in
 * the test process for SIMD128, and in a child Node started with the relaxed SIMD flag for relaxed SIMD
 * (int8-relaxed.child.ts); the tests assert on the report.
 */
import { instantiateInt8Kernels, type Int8Kernels, type Int8Variant } from '../../src/backend/wasm/int8/int8-matmul.js';
import { createInt8ThreadPool } from '../../src/backend/wasm/int8/int8-threads.js';
import { startNodeInt8Worker } from '../../src/backend/wasm/int8/int8-threads-node.js';
import { randomArray } from './fixtures.js';
import { BumpAllocator, int8ProductReference, packWeightsReference, quantizeRowsReference } from './int8-reference.js';

/** Odd sizes: none a multiple of the kernels' blocks (4 rows, 8 columns, 2 or 4 k). */
export const ODD_SIZES = [1, 3, 7, 17, 33, 100, 257] as const;

/** The shapes checked against the reference: each odd size as m, k and n in turn, and two larger ones. */
export function checkedShapes(): [number, number, number][] {
  const shapes: [number, number, number][] = [];
  for (const size of ODD_SIZES) shapes.push([size, 33, 17], [7, size, 17], [7, 33, size]);
  shapes.push([100, 257, 257], [257, 100, 33]);
  return shapes;
}

export interface Int8Report {
  variant: Int8Variant;
  shared: boolean;
  /** Per shape: the largest |kernel - reference| / magnitude (the sum of the terms' absolute values). */
  relative: { shape: [number, number, number]; worst: number }[];
  /** Per shape, integer data whose quantization is exact: entries that differ from the exact integer product. */
  exactMismatches: { shape: [number, number, number]; mismatches: number }[];
  /** The product computed in four row x column parts (and the quantization in two) equals the whole, bit for bit. */
  partsEqualWhole: boolean;
  /** Rows of zeros give exactly the bias. */
  zeroRowsGiveBias: boolean;
  /** A NaN in a row makes that row's outputs NaN, and only those. */
  nanRowGivesNaN: boolean;
  /** Rows read in place `rowStride` floats apart (overlapping, as convolution patches) quantize as gathered ones. */
  stridedRowsEqualGathered: boolean;
  /**
   * Attention (every product in int8) against float64 attention without quantization, per shape (rows, heads, head
   * size): the largest |kernel - reference| over the largest |v|.
   */
  attention: { shape: [number, number, number]; worst: number }[];
  /** Bytes changed outside the buffers the kernels were given (guards around every buffer). */
  bytesWrittenOutside: number;
}

const GUARD = 64;
const GUARD_BYTE = 0xa5;

/** Allocates buffers with guard bytes around each, to check the kernels never write outside them. */
class GuardedAllocator {
  private readonly guards: number[] = [];

  constructor(private readonly heap: BumpAllocator) {}

  allocate(bytes: number): number {
    const start = this.heap.allocate(bytes + 2 * GUARD);
    new Uint8Array(this.heap.memory.buffer, start, bytes + 2 * GUARD).fill(GUARD_BYTE);
    this.guards.push(start, start + GUARD + bytes);
    return start + GUARD;
  }

  put(values: Float32Array | Int8Array): number {
    const address = this.allocate(values.byteLength);
    new Uint8Array(this.heap.memory.buffer, address, values.byteLength).set(
      new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    );
    return address;
  }

  changedGuardBytes(): number {
    const bytes = new Uint8Array(this.heap.memory.buffer);
    let changed = 0;
    for (const start of this.guards) for (let i = start; i < start + GUARD; i++) if (bytes[i] !== GUARD_BYTE) changed++;
    return changed;
  }
}

function int8Weights(count: number, seed: number): Int8Array {
  return Int8Array.from(randomArray(count, seed), (v) => Math.round(v * 127));
}

/** Activations whose rows span very different magnitudes (1e-3 to 1e3), as the quantization must handle. */
function activations(m: number, k: number, seed: number): Float32Array {
  const x = randomArray(m * k, seed);
  for (let row = 0; row < m; row++) {
    const magnitude = 10 ** (((row * 7) % 7) - 3);
    for (let i = 0; i < k; i++) x[row * k + i]! *= magnitude;
  }
  return x;
}

/** Integer activations whose quantization is exact (scale 1): rows in [low, low + 255] holding both ends. */
function exactActivations(m: number, k: number, seed: number): Float32Array {
  const random = randomArray(m * k, seed);
  const x = new Float32Array(m * k);
  for (let row = 0; row < m; row++) {
    const low = -((row * 37) % 256);
    for (let i = 0; i < k; i++) x[row * k + i] = low + Math.round(((random[row * k + i]! + 1) / 2) * 255);
    x[row * k + (row % k)] = low + 255;
    x[row * k + ((row + 1) % k)] = k > 1 ? low : low + 255;
  }
  return x;
}

/** int8 weights whose 7-bit requantization (relaxed) is exact too: rows in [low, low + 127] holding both ends. */
function exactWeights(n: number, k: number, seed: number): Int8Array {
  const random = randomArray(n * k, seed);
  const w = new Int8Array(n * k);
  for (let col = 0; col < n; col++) {
    const low = -((col * 29) % 128);
    for (let i = 0; i < k; i++) w[col * k + i] = low + Math.round(((random[col * k + i]! + 1) / 2) * 127);
    w[col * k + (col % k)] = low + 127;
    w[col * k + ((col + 1) % k)] = k > 1 ? low : low + 127;
  }
  return w;
}

interface Problem {
  x: number;
  weights: number;
  scales: number;
  bias: number;
  packed: number;
  quantized: number;
  out: number;
}

function setUp(
  kernels: Int8Kernels,
  alloc: GuardedAllocator,
  x: Float32Array,
  w: Int8Array,
  scales: Float32Array,
  bias: Float32Array | null,
  m: number,
  k: number,
  n: number,
): Problem {
  const problem = {
    x: alloc.put(x),
    weights: alloc.put(w),
    scales: alloc.put(scales),
    bias: bias ? alloc.put(bias) : 0,
    packed: alloc.allocate(kernels.packedBytes(k, n)),
    quantized: alloc.allocate(kernels.quantizedBytes(m, k)),
    out: alloc.allocate(4 * m * n),
  };
  kernels.packWeights(problem.weights, problem.scales, problem.bias, k, n, problem.packed);
  return problem;
}

/** Runs every check for `variant` on a fresh memory, plain or shared (tfjs' threaded build). */
export async function runInt8Checks(variant: Int8Variant, shared = false): Promise<Int8Report> {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 16384, shared });
  const kernels = await instantiateInt8Kernels(memory, variant);
  const alloc = new GuardedAllocator(new BumpAllocator(memory));
  const report: Int8Report = {
    variant,
    shared,
    relative: [],
    exactMismatches: [],
    partsEqualWhole: true,
    zeroRowsGiveBias: true,
    nanRowGivesNaN: true,
    stridedRowsEqualGathered: true,
    attention: [],
    bytesWrittenOutside: 0,
  };
  let seed = 1;
  for (const [m, k, n] of checkedShapes()) {
    const x = activations(m, k, seed++);
    const w = int8Weights(n * k, seed++);
    const scales = Float32Array.from(randomArray(n, seed++), (v) => 0.001 + 0.01 * Math.abs(v));
    const bias = randomArray(n, seed++);
    const problem = setUp(kernels, alloc, x, w, scales, bias, m, k, n);
    kernels.quantizeRows(problem.x, m, k, problem.quantized);
    kernels.matmul(problem.quantized, problem.packed, problem.out, m, k, n);
    const out = new Float32Array(memory.buffer, problem.out, m * n).slice();
    const reference = int8ProductReference(
      quantizeRowsReference(x, m, k),
      packWeightsReference(variant, w, scales, k, n),
      bias,
      m,
      k,
      n,
    );
    let worst = 0;
    for (let i = 0; i < m * n; i++)
      worst = Math.max(worst, Math.abs(out[i]! - reference.out[i]!) / (reference.magnitude[i]! || 1));
    report.relative.push({ shape: [m, k, n], worst });

    // The same product in parts: rows split in two for the quantization, then four blocks of the output.
    const rowSplit = Math.min(m, kernels.rowBlock * Math.ceil(m / (2 * kernels.rowBlock)));
    const colSplit = Math.min(n, kernels.panelWidth * Math.ceil(n / (2 * kernels.panelWidth)));
    new Float32Array(memory.buffer, problem.out, m * n).fill(NaN);
    kernels.quantizeRows(problem.x, m, k, problem.quantized, 0, rowSplit);
    kernels.quantizeRows(problem.x, m, k, problem.quantized, rowSplit, m);
    for (const [rowBegin, rowEnd] of [
      [0, rowSplit],
      [rowSplit, m],
    ] as const) {
      for (const [colBegin, colEnd] of [
        [0, colSplit],
        [colSplit, n],
      ] as const) {
        kernels.matmul(problem.quantized, problem.packed, problem.out, m, k, n, { rowBegin, rowEnd, colBegin, colEnd });
      }
    }
    const parts = new Float32Array(memory.buffer, problem.out, m * n);
    if (!parts.every((v, i) => Object.is(v, out[i]))) report.partsEqualWhole = false;

    // Integer data, unit scales, no bias: the exact integer product (below 2^24, so exact in float32 too).
    const exactX = exactActivations(m, k, seed++);
    const exactW = exactWeights(n, k, seed++);
    const exact = setUp(kernels, alloc, exactX, exactW, new Float32Array(n).fill(1), null, m, k, n);
    kernels.quantizeRows(exact.x, m, k, exact.quantized);
    kernels.matmul(exact.quantized, exact.packed, exact.out, m, k, n);
    const exactOut = new Float32Array(memory.buffer, exact.out, m * n);
    let mismatches = 0;
    for (let row = 0; row < m; row++) {
      for (let col = 0; col < n; col++) {
        let sum = 0;
        for (let i = 0; i < k; i++) sum += exactX[row * k + i]! * exactW[col * k + i]!;
        if (exactOut[row * n + col] !== sum) mismatches++;
      }
    }
    report.exactMismatches.push({ shape: [m, k, n], mismatches });

    // Rows of zeros: the bias, exactly.
    const zeros = setUp(kernels, alloc, new Float32Array(m * k), w, scales, bias, m, k, n);
    kernels.quantizeRows(zeros.x, m, k, zeros.quantized);
    kernels.matmul(zeros.quantized, zeros.packed, zeros.out, m, k, n);
    const zeroOut = new Float32Array(memory.buffer, zeros.out, m * n);
    for (let i = 0; i < m * n; i++) if (zeroOut[i] !== bias[i % n]) report.zeroRowsGiveBias = false;

    // A NaN in the last row, at its last value (the scalar tail where k is not a multiple of 8).
    const withNaN = x.slice();
    withNaN[m * k - 1] = NaN;
    const nan = setUp(kernels, alloc, withNaN, w, scales, bias, m, k, n);
    kernels.quantizeRows(nan.x, m, k, nan.quantized);
    kernels.matmul(nan.quantized, nan.packed, nan.out, m, k, n);
    const nanOut = new Float32Array(memory.buffer, nan.out, m * n);
    for (let i = 0; i < m * n; i++) {
      const lastRow = i >= (m - 1) * n;
      if (Number.isNaN(nanOut[i]!) !== lastRow || (!lastRow && nanOut[i] !== out[i])) report.nanRowGivesNaN = false;
    }
  }
  // Patches of 3 frames of 5 values every 2 frames, read in place, against the same patches gathered.
  for (const [frames, channels, kernel, stride] of [
    [23, 5, 3, 2],
    [40, 8, 2, 2],
    [17, 3, 10, 5],
  ] as const) {
    const m = Math.floor((frames - kernel) / stride) + 1;
    const k = kernel * channels;
    const x = activations(frames, channels, seed++);
    const gathered = new Float32Array(m * k);
    for (let row = 0; row < m; row++)
      gathered.set(x.subarray(row * stride * channels, row * stride * channels + k), row * k);
    const [inPlace, copy] = [
      alloc.allocate(kernels.quantizedBytes(m, k)),
      alloc.allocate(kernels.quantizedBytes(m, k)),
    ];
    kernels.quantizeRows(alloc.put(x), m, k, inPlace, 0, m, stride * channels);
    kernels.quantizeRows(alloc.put(gathered), m, k, copy, 0, m);
    const bytes = kernels.quantizedBytes(m, k);
    const [a, b] = [new Uint8Array(memory.buffer, inPlace, bytes), new Uint8Array(memory.buffer, copy, bytes)];
    if (!a.every((v, i) => v === b[i])) report.stridedRowsEqualGathered = false;
  }

  for (const [n, heads, headDim] of [
    [1, 1, 8],
    [7, 3, 5],
    [33, 2, 16],
    [100, 4, 64],
  ] as const) {
    const dim = heads * headDim;
    const qkv = randomArray(n * 3 * dim, seed++);
    const bias = randomArray(heads * n * n, seed++);
    const [qkvAt, biasAt, out] = [alloc.put(qkv), alloc.put(bias), alloc.allocate(4 * n * dim)];
    const scratch = alloc.allocate(kernels.attentionScratchBytes(n, headDim));
    kernels.attention(qkvAt, n, dim, headDim, 0, heads, biasAt, n * n, n, out, scratch);
    const got = new Float32Array(memory.buffer, out, n * dim);
    const reference = attentionReference(qkv, bias, n, heads, headDim);
    let largestV = 0;
    for (let row = 0; row < n; row++)
      for (let c = 0; c < dim; c++) largestV = Math.max(largestV, Math.abs(qkv[row * 3 * dim + 2 * dim + c]!));
    let worst = 0;
    for (let i = 0; i < n * dim; i++) worst = Math.max(worst, Math.abs(got[i]! - reference[i]!) / largestV);
    report.attention.push({ shape: [n, heads, headDim], worst: Number.isNaN(worst) ? Infinity : worst });
  }
  report.bytesWrittenOutside = alloc.changedGuardBytes();
  return report;
}

/** softmax(q k^T / sqrt(headDim) + bias) v of every head in float64, heads side by side: (n, heads * headDim). */
function attentionReference(
  qkv: Float32Array,
  bias: Float32Array,
  n: number,
  heads: number,
  headDim: number,
): Float64Array {
  const dim = heads * headDim;
  const out = new Float64Array(n * dim);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++) {
      const scores = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let c = 0; c < headDim; c++)
          dot += qkv[i * 3 * dim + h * headDim + c]! * qkv[j * 3 * dim + dim + h * headDim + c]!;
        scores[j] = dot / Math.sqrt(headDim) + bias[(h * n + i) * n + j]!;
      }
      const high = Math.max(...scores);
      let total = 0;
      for (let j = 0; j < n; j++) total += scores[j] = Math.exp(scores[j]! - high);
      for (let c = 0; c < headDim; c++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += (scores[j]! / total) * qkv[j * 3 * dim + 2 * dim + h * headDim + c]!;
        out[i * dim + h * headDim + c] = sum;
      }
    }
  }
  return out;
}

/**
 * Products on `threads` threads (int8-threads.ts: `matmul`, columns split, and `product`, rows split, quantization
 * included) against the same on one thread, on odd shapes (among them fewer panels or row blocks than threads):
 * whether every output is the same bit for bit.
 */
export async function threadsGiveSameProducts(
  variant: Int8Variant,
  threads: number,
): Promise<{ threads: number; same: boolean }> {
  const memory = new WebAssembly.Memory({ initial: 64, maximum: 16384, shared: true });
  const kernels = await instantiateInt8Kernels(memory, variant);
  const pool = await createInt8ThreadPool(kernels, threads, startNodeInt8Worker);
  const heap = new BumpAllocator(memory);
  let same = true;
  let seed = 100;
  try {
    for (const [m, k, n] of [
      [100, 257, 257],
      [7, 33, 17],
      [1, 3, 1],
      [33, 100, 1000],
      [5, 64, 8],
    ] as const) {
      const x = heap.put(activations(m, k, seed++));
      const packed = heap.allocate(kernels.packedBytes(k, n));
      kernels.packWeights(
        heap.put(int8Weights(n * k, seed++)),
        heap.put(new Float32Array(n).fill(0.01)),
        heap.put(randomArray(n, seed++)),
        k,
        n,
        packed,
      );
      const quantized = heap.allocate(kernels.quantizedBytes(m, k));
      kernels.quantizeRows(x, m, k, quantized);
      const alone = heap.allocate(4 * m * n);
      kernels.matmul(quantized, packed, alone, m, k, n);
      const byColumns = heap.allocate(4 * m * n);
      pool.matmul(quantized, packed, byColumns, m, k, n);
      const quantizedByRows = heap.allocate(kernels.quantizedBytes(m, k));
      const byRows = heap.allocate(4 * m * n);
      pool.product(x, quantizedByRows, packed, byRows, m, k, n);
      const expected = heap.floats(alone, m * n);
      for (const out of [byColumns, byRows])
        if (!heap.floats(out, m * n).every((v, i) => Object.is(v, expected[i]))) same = false;
      // Overlapping rows (every k / 2 floats, from a longer x) and the columns from a panel near the middle, split
      // by rows too; the columns left out stay as they were.
      const rows = Math.max(1, Math.floor(m / 2));
      const part = {
        rowStride: Math.ceil(k / 2),
        colBegin: kernels.panelWidth * Math.floor(n / (2 * kernels.panelWidth)),
        colEnd: n,
      };
      const strided = heap.allocate(4 * rows * n);
      heap.floats(strided, rows * n).fill(NaN);
      heap.floats(alone, rows * n).fill(NaN);
      pool.product(x, quantizedByRows, packed, strided, rows, k, n, part);
      kernels.quantizeRows(x, rows, k, quantized, 0, rows, part.rowStride);
      kernels.matmul(quantized, packed, alone, rows, k, n, { rowBegin: 0, rowEnd: rows, ...part });
      const stridedAlone = heap.floats(alone, rows * n);
      if (!heap.floats(strided, rows * n).every((v, i) => Object.is(v, stridedAlone[i]))) same = false;
      const bytes = kernels.quantizedBytes(m, k);
      const a = new Uint8Array(memory.buffer, quantized, bytes);
      const b = new Uint8Array(memory.buffer, quantizedByRows, bytes);
      if (!a.every((v, i) => v === b[i])) same = false;
    }
    // Attention with its heads split between the threads, against one thread.
    for (const [n, heads, headDim] of [
      [50, 5, 16],
      [9, 1, 8],
    ] as const) {
      const dim = heads * headDim;
      const qkv = heap.put(randomArray(n * 3 * dim, seed++));
      const bias = heap.put(randomArray(n, seed++));
      const [alone, split] = [heap.allocate(4 * n * dim), heap.allocate(4 * n * dim)];
      const scratch = heap.allocate(pool.attentionScratchBytes(n, headDim));
      kernels.attention(qkv, n, dim, headDim, 0, heads, bias, 0, 0, alone, scratch);
      pool.attention(qkv, n, dim, headDim, bias, 0, 0, split, scratch);
      const expected = heap.floats(alone, n * dim);
      if (!heap.floats(split, n * dim).every((v, i) => Object.is(v, expected[i]))) same = false;
    }
  } finally {
    await pool.close();
  }
  return { threads: pool.threads, same };
}
