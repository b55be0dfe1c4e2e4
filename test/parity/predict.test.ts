/**
 * End-to-end parity through the public API: audio file in, scores and embeddings out, against the upstream
 * reference. tiny and tiny_wrapped load their real model.pt; base and large load their synthetic weights,
 * rebuilt from the documented hash and handed over as an in-memory .safetensors file.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Emotion2Vec } from '../../src/node.js';
import { writeSafetensors } from '../../src/model/checkpoint/safetensors.js';
import { useBackend, type TestBackend } from '../support/backend.js';
import {
  cosine,
  fixturePath,
  loadNpy,
  manifestInputs,
  maxAbsDiff,
  syntheticWeights,
  type FixtureCase,
} from '../support/fixtures.js';

/** Bars from test/fixtures/README.md ("How exact the reference is"). */
const FRAME_BAR: Record<FixtureCase, number> = { tiny: 1e-4, tiny_wrapped: 1e-4, base: 5e-4, large: 5e-4 };
const SCORE_BAR = 1e-4;

/** A checkpoint folder in memory: config.yaml, tokens.txt and the synthetic weights as model.safetensors. */
function syntheticCheckpoint(name: FixtureCase): Record<string, Uint8Array> {
  const tensors = [...syntheticWeights(name)].map(([key, entry]) => ({
    name: key,
    shape: [...entry.shape],
    data: entry.read(),
  }));
  return {
    'config.yaml': readFileSync(fixturePath(name, 'config.yaml')),
    'tokens.txt': readFileSync(fixturePath(name, 'tokens.txt')),
    'model.safetensors': writeSafetensors(tensors),
  };
}

const runs: { name: FixtureCase; backend: TestBackend; source: () => string | Record<string, Uint8Array> }[] = [
  { name: 'tiny', backend: 'wasm', source: () => fixturePath('tiny') },
  { name: 'tiny', backend: 'cpu', source: () => fixturePath('tiny') },
  { name: 'tiny_wrapped', backend: 'wasm', source: () => fixturePath('tiny_wrapped') },
  { name: 'tiny_wrapped', backend: 'cpu', source: () => fixturePath('tiny_wrapped', 'model.pt') },
  { name: 'base', backend: 'wasm', source: () => syntheticCheckpoint('base') },
  { name: 'large', backend: 'wasm', source: () => syntheticCheckpoint('large') },
];

for (const { name, backend, source } of runs) {
  describe(`${name} on ${backend}: predict() matches upstream`, () => {
    let model: Emotion2Vec;
    beforeAll(async () => {
      await useBackend(backend);
      model = await Emotion2Vec.load(source(), { backend });
    });
    afterAll(() => model.dispose());

    for (const input of manifestInputs(name)) {
      it(`${input.id}: frames, utterance embedding, scores and top label`, async () => {
        const audioFile = fixturePath('audio', input.source);
        const frames = await model.predict(audioFile, { granularity: 'frame', embedding: true });
        const utterance = await model.predict(audioFile, { embedding: true });

        expect(frames.embedding!.shape).toEqual(input.frames);
        expect(frames.frames).toBe(input.frames[0]);
        const frameDiff = maxAbsDiff(frames.embedding!.data, loadNpy(name, `${input.id}.frames`).data);
        expect(frameDiff, 'frames max |diff|').toBeLessThan(FRAME_BAR[name]);

        const reference = loadNpy(name, `${input.id}.utterance`).data;
        expect(utterance.embedding!.shape).toEqual([input.frames[1]]);
        expect(cosine(utterance.embedding!.data, reference)).toBeGreaterThanOrEqual(0.99999);
        expect(maxAbsDiff(utterance.embedding!.data, reference)).toBeLessThan(FRAME_BAR[name]);

        expect(utterance.labels).toEqual(input.labels);
        const scoreDiff = maxAbsDiff(utterance.scores, input.scores);
        expect(scoreDiff, 'scores max |diff|').toBeLessThan(SCORE_BAR);
        // The measured margins, for the closing notes and bench/RESULTS.md ("npm test" prints them).
        console.info(
          `parity ${name} ${backend} ${input.id}: frames max |diff| ${frameDiff.toExponential(2)}, scores max |diff| ${scoreDiff.toExponential(2)}`,
        );
        expect(utterance.top!.label).toBe(input.top);
        expect(frames.scores).toEqual(utterance.scores);
      });
    }
  });
}
