import { describe, expect, it } from 'vitest';
import { argmax, scoresFromLogits } from '../../src/model/scores.js';
import { loadNpy, manifestInputs, maxAbsDiff } from '../support/fixtures.js';

describe('scoresFromLogits', () => {
  it('is the softmax of the reference logits', () => {
    const { labels, scores } = scoresFromLogits(
      loadNpy('tiny', 'chirp16k.logits').data,
      manifestInputs('tiny')[1]!.labels,
    );
    expect(labels).toEqual(manifestInputs('tiny')[1]!.labels);
    expect(maxAbsDiff(scores, loadNpy('tiny', 'chirp16k.scores').data)).toBeLessThan(1e-7);
  });

  it('drops unuse* labels and renormalises over the rest, as upstream (-inf logits)', () => {
    const { labels, scores } = scoresFromLogits([0, 5, Math.log(3)], ['a', 'unuse_1', 'b']);
    expect(labels).toEqual(['a', 'b']);
    expect(scores[0]).toBeCloseTo(0.25, 12);
    expect(scores[1]).toBeCloseTo(0.75, 12);
    expect(argmax(scores)).toBe(1);
    expect(argmax([])).toBe(-1);
  });
});
