/** The int8 kernels in headless Chromium, where relaxed SIMD is on by default (Node 20 has it behind a flag). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, HAS_CHROMIUM, startBrowserHarness, type BrowserHarness } from '../support/browser-harness.js';
import type { Int8Scenarios } from './int8-page.js';
import { manifestInputs, maxAbsDiff } from '../support/fixtures.js';

if (!HAS_CHROMIUM) console.warn(`int8 browser tests skipped: no Chromium at ${CHROMIUM}`);

describe.skipIf(!HAS_CHROMIUM)('int8 kernels in Chromium', () => {
  let page: BrowserHarness<Int8Scenarios>;
  beforeAll(async () => {
    page = await startBrowserHarness<Int8Scenarios>('test/browser/int8-page.ts');
  });
  afterAll(async () => page?.close());

  it('has relaxed SIMD, computed right, and runs the pool on the page (not cross-origin isolated) alone', async () => {
    expect(await page.run('status')).toEqual({
      relaxed: 'supported',
      canBlock: false,
      poolThreads: 1,
      poolFallback: 'no SharedArrayBuffer here (a page that is not cross-origin isolated)',
    });
  });

  it('computes a model in int8 through the browser entry: relaxed SIMD on one thread, scores within 0.02', async () => {
    const [speech] = manifestInputs('tiny').filter((input) => input.id === 'speech16k');
    const result = await page.run('modelInt8', {
      model: '/test/fixtures/tiny/',
      audio: '/test/fixtures/audio/speech16k.wav',
    });
    expect(result.compute).toBe('int8');
    // The page is not cross-origin isolated: tfjs runs its single-threaded build, so do the int8 products.
    expect(result.kernels).toEqual({ variant: 'relaxed', threads: 1 });
    expect(result.top).toBe(speech!.top);
    expect(maxAbsDiff(result.scores, speech!.scores)).toBeLessThan(0.02);
  });

  it('matches the float64 reference of the same arithmetic, both kernel sets', async () => {
    expect(await page.run('worstRelativeError', 'simd128')).toBeLessThan(5e-7);
    expect(await page.run('worstRelativeError', 'relaxed')).toBeLessThan(5e-7);
    expect(page.pageErrors).toEqual([]);
  });
});
