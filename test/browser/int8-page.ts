/**
 * The page of int8.test.ts: the int8 kernels in Chromium against the float64 reference of their arithmetic
 * (test/support/int8-reference.ts), the thread pool's fallback on a page's main thread, and a model computing in
 * int8 through the browser entry.
 */
import { Emotion2Vec } from '../../src/browser.js';
import { int8ComputeInfo } from '../../src/backend/wasm/int8-linear.js';
import {
  instantiateInt8Kernels,
  relaxedSimdStatus,
  type Int8Variant,
} from '../../src/backend/wasm/int8/int8-matmul.js';
import { canBlockThisThread, createInt8ThreadPool } from '../../src/backend/wasm/int8/int8-threads.js';
import {
  BumpAllocator,
  int8ProductReference,
  packWeightsReference,
  quantizeRowsReference,
} from '../support/int8-reference.js';

/**
 * Values in [-1, 1): test/support/fixtures.ts' randomArray, which this page cannot import (it reads files with
 * node:fs).
 */
function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const scenarios = {
  async status() {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const pool = await createInt8ThreadPool(await instantiateInt8Kernels(memory, 'simd128'), 2);
    return {
      relaxed: relaxedSimdStatus(),
      canBlock: canBlockThisThread(),
      poolThreads: pool.threads,
      poolFallback: pool.fallback ?? null,
    };
  },
  /** A model loaded with `compute: 'int8'` on wasm: what it computes in, on which kernels, and its scores. */
  async modelInt8(args: { model: string; audio: string }) {
    const model = await Emotion2Vec.load(new URL(args.model, location.href).href, {
      backend: 'wasm',
      wasmPaths: '/node_modules/@tensorflow/tfjs-backend-wasm/dist/',
      compute: 'int8',
    });
    const response = await fetch(args.audio);
    const prediction = await model.predict(new Uint8Array(await response.arrayBuffer()));
    model.dispose();
    return {
      compute: model.compute,
      kernels: int8ComputeInfo(),
      scores: prediction.scores,
      top: prediction.top!.label,
    };
  },
  /** The largest |kernel - reference| / magnitude over odd shapes. */
  async worstRelativeError(variant: Int8Variant) {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 4096 });
    const kernels = await instantiateInt8Kernels(memory, variant);
    const heap = new BumpAllocator(memory);
    let worst = 0;
    let seed = 1;
    for (const [m, k, n] of [
      [7, 33, 17],
      [100, 257, 257],
      [1, 3, 1],
      [17, 100, 33],
    ] as const) {
      const x = randomArray(m * k, seed++);
      const w = Int8Array.from(randomArray(n * k, seed++), (v) => Math.round(v * 127));
      const scales = Float32Array.from(randomArray(n, seed++), (v) => 0.001 + 0.01 * Math.abs(v));
      const bias = randomArray(n, seed++);
      const packed = heap.allocate(kernels.packedBytes(k, n));
      const quantized = heap.allocate(kernels.quantizedBytes(m, k));
      const out = heap.allocate(4 * m * n);
      kernels.packWeights(heap.put(w), heap.put(scales), heap.put(bias), k, n, packed);
      kernels.quantizeRows(heap.put(x), m, k, quantized);
      kernels.matmul(quantized, packed, out, m, k, n);
      const reference = int8ProductReference(
        quantizeRowsReference(x, m, k),
        packWeightsReference(variant, w, scales, k, n),
        bias,
        m,
        k,
        n,
      );
      const result = heap.floats(out, m * n);
      for (let i = 0; i < m * n; i++)
        worst = Math.max(worst, Math.abs(result[i]! - reference.out[i]!) / (reference.magnitude[i]! || 1));
    }
    return worst;
  },
};

export type Int8Scenarios = typeof scenarios;
(globalThis as unknown as { scenarios: Int8Scenarios }).scenarios = scenarios;
