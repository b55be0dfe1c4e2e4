/**
 * Measures how far a converted model (stored as float32/float16/int8) lands from the upstream reference, computed
 * in float32: the storage's own drift (int8 products: test/parity/int8-drift.test.ts).
 */
import { Emotion2Vec } from '../../src/node.js';
import type { WeightDType } from '../../src/model/weight-dtypes.js';
import type { TestBackend } from './backend.js';
import { useBackend } from './backend.js';
import { convertedFiles, shardBytes } from './converted-files.js';
import { fixturePath, loadNpy, manifestInputs, maxAbsDiff, type FixtureCase } from './fixtures.js';

export interface Drift {
  /** Bytes of the weight shards. */
  readonly bytes: number;
  /** Max over the case's inputs of frames max |diff| and scores max |diff| vs upstream. */
  readonly frames: number;
  readonly scores: number;
  /** Inputs whose top label differs from upstream's. */
  readonly topMismatches: string[];
}

export async function measureDrift(name: FixtureCase, dtype: WeightDType, backend: TestBackend): Promise<Drift> {
  await useBackend(backend);
  const files = await convertedFiles(name, dtype);
  const bytes = shardBytes(files);
  const model = await Emotion2Vec.load(files, { backend, compute: 'float32' });
  try {
    let frames = 0;
    let scores = 0;
    const topMismatches: string[] = [];
    for (const input of manifestInputs(name)) {
      const result = await model.predict(fixturePath('audio', input.source), { granularity: 'frame', embedding: true });
      frames = Math.max(frames, maxAbsDiff(result.embedding!.data, loadNpy(name, `${input.id}.frames`).data));
      scores = Math.max(scores, maxAbsDiff(result.scores, input.scores));
      if (result.top!.label !== input.top) topMismatches.push(input.id);
    }
    // Printed for docs/performance.md (vitest shows it).
    console.info(
      `drift ${name} ${dtype} ${backend}: ${bytes} shard bytes, frames max |diff| ${frames.toExponential(2)}, scores max |diff| ${scores.toExponential(2)}`,
    );
    return { bytes, frames, scores, topMismatches };
  } finally {
    model.dispose();
  }
}
