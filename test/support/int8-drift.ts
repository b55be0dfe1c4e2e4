/**
 * How far int8 compute lands from float32 on a fixture model, on every recording of test/fixtures/audio, through
 * the public API on wasm. Three comparisons per model:
 *
 * - `float32 weights`: the float32 model loaded with `compute: 'int8'` (the encoder's matrices quantized per output
 *   channel at load, as `convert --dtype int8` stores them; everything else exact) against the same model in
 *   float32: the int8 products' own drift;
 * - `int8 folder`: the model converted with `--dtype int8`, computed in int8 (its default) against the same folder
 *   computed in float32: the int8 products' drift on a folder's weights;
 * - `int8 folder vs float32 folder`: the int8 folder (int8 compute) against the float32 model: the products and the
 *   storage together (int8 folders also store the CNN's and the positional convolution's weights as int8, turned
 *   into float32 at load).
 *
 * Run in the test process (the kernels `auto` picks: SIMD128 in Node 20) and, for relaxed SIMD, in a child Node
 * that has it (test/parity/int8-drift.child.ts).
 */
import { Emotion2Vec } from '../../src/node.js';
import { int8ComputeInfo } from '../../src/backend/wasm/int8-linear.js';
import { useBackend } from './backend.js';
import { convertedFiles } from './converted-files.js';
import { cosine, fixturePath, maxAbsDiff, type FixtureCase } from './fixtures.js';

/** Every recording the tests have that the fixture models are run on. */
export const DRIFT_RECORDINGS = ['speech16k.wav', 'chirp16k.wav', 'short720.wav', 'speech44k_stereo.wav'] as const;

export interface Int8Drift {
  readonly model: FixtureCase;
  readonly comparison: 'float32 weights' | 'int8 folder' | 'int8 folder vs float32 folder';
  /** The kernels and threads the int8 products ran on. */
  readonly kernels: string;
  /** Recordings whose top label differs, as `recording: float32 label -> int8 label`. */
  readonly topChanged: string[];
  /** Largest |int8 - float32| over every recording's label scores. */
  readonly scores: number;
  /** Smallest cosine of the utterance embeddings (the mean of the frames, as the model pools them). */
  readonly cosine: number;
  /** Largest |int8 - float32| over every frame embedding value. */
  readonly frames: number;
}

interface Outputs {
  readonly top: string;
  readonly scores: number[];
  readonly frames: Float32Array;
  readonly utterance: Float64Array;
}

async function run(files: Record<string, Uint8Array>, compute: 'float32' | 'int8'): Promise<Outputs[]> {
  const model = await Emotion2Vec.load(files, { backend: 'wasm', compute });
  try {
    if (model.compute !== compute)
      throw new Error(`asked to compute in ${compute}, the model computes in ${model.compute}`);
    const outputs: Outputs[] = [];
    for (const recording of DRIFT_RECORDINGS) {
      const result = await model.predict(fixturePath('audio', recording), { granularity: 'frame', embedding: true });
      const [frames, dim] = result.embedding!.shape as [number, number];
      const utterance = new Float64Array(dim);
      for (let t = 0; t < frames; t++)
        for (let d = 0; d < dim; d++) utterance[d]! += result.embedding!.data[t * dim + d]! / frames;
      outputs.push({ top: result.top!.label, scores: result.scores, frames: result.embedding!.data, utterance });
    }
    return outputs;
  } finally {
    model.dispose();
  }
}

function compare(
  model: FixtureCase,
  comparison: Int8Drift['comparison'],
  kernels: string,
  reference: Outputs[],
  int8: Outputs[],
): Int8Drift {
  const each = DRIFT_RECORDINGS.map((recording, i) => ({ recording, float32: reference[i]!, int8: int8[i]! }));
  return {
    model,
    comparison,
    kernels,
    topChanged: each
      .filter((e) => e.int8.top !== e.float32.top)
      .map((e) => `${e.recording}: ${e.float32.top} -> ${e.int8.top}`),
    scores: Math.max(...each.map((e) => maxAbsDiff(e.int8.scores, e.float32.scores))),
    cosine: Math.min(...each.map((e) => cosine(e.int8.utterance, e.float32.utterance))),
    frames: Math.max(...each.map((e) => maxAbsDiff(e.int8.frames, e.float32.frames))),
  };
}

/** The three comparisons of `name` (its models loaded one at a time: the large float32 one is 1.3 GB). */
export async function measureInt8Drift(name: FixtureCase): Promise<Int8Drift[]> {
  await useBackend('wasm');
  let float32Files: Record<string, Uint8Array> | null = await convertedFiles(name, 'float32');
  const reference = await run(float32Files, 'float32');
  const quantized = await run(float32Files, 'int8');
  float32Files = null;
  const int8Files = await convertedFiles(name, 'int8');
  const folderFloat32 = await run(int8Files, 'float32');
  const folderInt8 = await run(int8Files, 'int8');
  const info = int8ComputeInfo()!;
  const kernels = `${info.variant}, ${info.threads} thread${info.threads > 1 ? 's' : ''}`;
  return [
    compare(name, 'float32 weights', kernels, reference, quantized),
    compare(name, 'int8 folder', kernels, folderFloat32, folderInt8),
    compare(name, 'int8 folder vs float32 folder', kernels, reference, folderInt8),
  ];
}

/** One markdown row per comparison, for docs/performance.md (the test prints them). */
export function driftRows(drifts: readonly Int8Drift[]): string[] {
  return drifts.map(
    (d) =>
      `| ${d.model} | ${d.comparison} | ${d.kernels} | ${DRIFT_RECORDINGS.length - d.topChanged.length} / ${DRIFT_RECORDINGS.length} | ` +
      `${d.scores.toExponential(1)} | ${d.cosine.toFixed(5)} | ${d.frames.toExponential(1)} |`,
  );
}
