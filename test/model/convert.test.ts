/** convertModel: the one conversion the CLI, the model cache and the page model call, check first, model.json last. */
import '../../src/node.js';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../src/model/convert.js';
import { readModelContents } from '../../src/model/sources.js';
import { preparePageModel } from '../../src/server/page-model.js';
import { fixturePath } from '../support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-convert-model-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * The tiny checkpoint under a config whose network declares other tensors: `embed_dim: 32` (every width) or `depth: 3`.
 */
function mismatchedCheckpoint(change: 'embed_dim: 32' | 'depth: 3'): string {
  const dir = mkdtempSync(join(work, 'mismatched-'));
  const config = readFileSync(fixturePath('tiny', 'config.yaml'), 'utf8');
  const line = change === 'depth: 3' ? '  depth: 2\n' : '  embed_dim: 64\n';
  expect(config).toContain(line);
  writeFileSync(join(dir, 'config.yaml'), config.replace(line, `  ${change}\n`));
  for (const file of ['model.pt', 'tokens.txt']) copyFileSync(fixturePath('tiny', file), join(dir, file));
  return dir;
}

describe('convertModel', () => {
  it('writes model.json and its shards, and reports what it checked and wrote', async () => {
    const out = join(work, 'tiny');
    const report = await convertModel(fixturePath('tiny'), out);
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    expect(report.folder).toBe(out);
    expect(report.manifest.weightsManifest[0]!.paths).toEqual(['group1-shard1of1.bin']);
    const written = ['model.json', 'group1-shard1of1.bin'].map((file) => readFileSync(join(out, file)).length);
    expect(report.bytes).toBe(written[0]! + written[1]!);
    expect(report.tensors.loaded).toBe(report.manifest.weightsManifest[0]!.weights.length);
    expect(report.labels).toEqual(readFileSync(fixturePath('tiny', 'tokens.txt'), 'utf8').trim().split('\n'));
    expect((await readModelContents(out)).layout).toBe('converted');
  });

  it('tensors missing or of other shapes than the network declares: CHECKPOINT_TENSORS, nothing written', async () => {
    const out = join(work, 'never-written');
    await expect(convertModel(mismatchedCheckpoint('depth: 3'), out)).rejects.toMatchObject({
      code: 'CHECKPOINT_TENSORS',
      message: expect.stringMatching(/blocks\.2\./),
    });
    await expect(convertModel(mismatchedCheckpoint('embed_dim: 32'), out)).rejects.toMatchObject({
      code: 'CHECKPOINT_TENSORS',
      message: expect.stringMatching(/shape/),
    });
    expect(existsSync(out)).toBe(false);
  });

  it('the page model is checked the same way: a checkpoint of other shapes is refused, not served', async () => {
    const refused = preparePageModel(mismatchedCheckpoint('embed_dim: 32'));
    await expect(refused).rejects.toMatchObject({ code: 'CHECKPOINT_TENSORS' });
  });

  it('a folder holding a model takes a new conversion; a converted folder is not written over itself', async () => {
    const out = join(work, 'again');
    await convertModel(fixturePath('tiny'), out);
    await convertModel(fixturePath('tiny'), out, { dtype: 'int8' });
    const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const stored = manifest.weightsManifest[0].weights.map(
      (w: { quantization?: { dtype: string } }) => w.quantization?.dtype,
    );
    expect(stored).toContain('int8');
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);

    const before = readFileSync(join(out, 'group1-shard1of1.bin'));
    await expect(convertModel(out, out)).rejects.toMatchObject({ code: 'OUTPUT_WRITE_FAILED' });
    expect(readFileSync(join(out, 'group1-shard1of1.bin')).equals(before)).toBe(true);
    expect((await readModelContents(out)).layout).toBe('converted');
  });
});
