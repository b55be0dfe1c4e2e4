/**
 * A Slice kernel for the wasm backend that copies only the slice.
 *
 * tfjs-backend-wasm 4.22's Slice reads its whole input back into a fresh JS array (`readSync`) before copying
 * the slice out, so slicing one head out of a (N, 3D) tensor costs a copy of all of it plus garbage: 60-110 ms
 * where the copy itself takes microseconds (bench/RESULTS.md). This one reads the input in place, through a
 * view of the wasm heap. Registered under this project's own kernel name when `selectBackend` starts wasm
 * (src/backend/wasm/kernels.ts), and called through the kernel interface's `slice`: tfjs' own Slice, which every
 * other tf.slice in the process runs, stays as it is. Strings and scalars go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export const SLICE_KERNEL = 'Emotion2VecSlice';

/** Copies the (begin, size) box of `source` (row-major, `shape`) into `target`, one innermost run at a time. */
function copyBox(
  source: Float32Array | Int32Array | Uint8Array,
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  target: typeof source,
): void {
  const rank = shape.length;
  const strides = tf.util.computeStrides(shape as number[]);
  const run = size[rank - 1]!;
  const runs = tf.util.sizeFromShape(size as number[]) / run;
  const index = new Array<number>(rank - 1).fill(0);
  for (let r = 0; r < runs; r++) {
    let offset = begin[rank - 1]!;
    for (let d = 0; d < rank - 1; d++) offset += (begin[d]! + index[d]!) * strides[d]!;
    target.set(source.subarray(offset, offset + run), r * run);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < size[d]!) break;
      index[d] = 0;
    }
  }
}

const sliceInPlace: tf.KernelFunc = (args) => {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const backend = args.backend as BackendWasm;
  if (x.dtype === 'string' || x.shape.length === 0) return tf.getKernel('Slice', 'wasm')!.kernelFunc(args);
  const attrs = args.attrs as unknown as tf.SliceAttrs;
  const [begin, size] = tf.slice_util.parseSliceParams(x, attrs.begin, attrs.size) as [number[], number[]];
  tf.slice_util.assertParamsValid(x, begin, size);
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  // Views taken after makeOutput: allocating may grow (and so replace) the wasm heap.
  const source = backend.typedArrayFromHeap(x);
  const target = backend.typedArrayFromHeap(out);
  if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
    const start = tf.slice_util.computeFlatOffset(begin, tf.util.computeStrides(x.shape));
    target.set(source.subarray(start, start + tf.util.sizeFromShape(size)));
  } else {
    copyBox(source, x.shape, begin, size, target);
  }
  return out;
};

/** The kernel, for tf.registerKernel. */
export const SLICE_KERNEL_CONFIG: tf.KernelConfig = {
  kernelName: SLICE_KERNEL,
  backendName: 'wasm',
  kernelFunc: sliceInPlace,
};
