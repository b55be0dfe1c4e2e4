import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixturePath, manifestInputs, maxAbsDiff } from '../support/fixtures.js';
import { runCli } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'e2v-convert-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('emotion2vec convert', () => {
  it('converts a wrapped checkpoint file; the converted folder analyzes to the same result', async () => {
    const out = join(work, 'tiny-converted');
    const converted = await runCli(['convert', fixturePath('tiny_wrapped', 'model.pt'), '--out', out]);
    expect(converted.code, converted.stderr).toBe(0);
    expect(converted.stdout).toContain('77 tensors');
    expect(converted.stdout).toContain('skipped 6 training-only tensors');
    expect(readdirSync(out).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);

    const args = (model: string) => [
      'analyze',
      fixturePath('audio', 'chirp16k.wav'),
      '--model',
      model,
      '--json',
      '--no-output',
      '--backend',
      'wasm',
    ];
    const scoresOf = (stdout: string) => Object.values(JSON.parse(stdout).scores as Record<string, number>);
    const [fromCheckpoint, fromConverted] = await Promise.all([
      runCli(args(fixturePath('tiny_wrapped'))),
      runCli(args(out)),
    ]);
    expect(scoresOf(fromConverted.stdout)).toEqual(scoresOf(fromCheckpoint.stdout));
    // And both are upstream's numbers for this input.
    const upstream = manifestInputs('tiny_wrapped').find((input) => input.id === 'chirp16k')!;
    expect(maxAbsDiff(scoresOf(fromConverted.stdout), upstream.scores)).toBeLessThanOrEqual(1e-4);
    const record = JSON.parse(fromConverted.stdout);
    expect(record.emotion === 'unknown' ? '<unk>' : `${record.emotion_zh}/${record.emotion}`).toBe(upstream.top);
  });

  it('--dtype int8 writes about a quarter of the bytes, records the stored type, and analyzes to the same top label', async () => {
    const out = join(work, 'tiny-int8');
    const converted = await runCli(['convert', fixturePath('tiny'), '--out', out, '--dtype', 'int8']);
    expect(converted.code, converted.stderr).toBe(0);
    expect(converted.stdout).toContain('MiB (int8)');
    const manifest = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const stored = manifest.weightsManifest[0].weights.map(
      (w: { quantization?: { dtype: string } }) => w.quantization?.dtype ?? 'float32',
    );
    expect(stored).toContain('int8');
    expect(stored).toContain('float32'); // biases and norms stay float32
    expect(statSync(join(out, 'group1-shard1of1.bin')).size).toBe(337_972);
    const analyzed = await runCli([
      'analyze',
      fixturePath('audio', 'speech16k.wav'),
      '--model',
      out,
      '--json',
      '--no-output',
      '--backend',
      'wasm',
    ]);
    const record = JSON.parse(analyzed.stdout);
    const upstream = manifestInputs('tiny').find((input) => input.id === 'speech16k')!;
    expect(record.emotion === 'unknown' ? '<unk>' : `${record.emotion_zh}/${record.emotion}`).toBe(upstream.top);
  });

  it('--dtype other than float32|float16|int8 is a usage error', async () => {
    const { code, stderr } = await runCli([
      'convert',
      fixturePath('tiny'),
      '--out',
      join(work, 'y'),
      '--dtype',
      'int4',
    ]);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/float32, float16, int8/);
  });

  it('fails clearly on a folder without a model', async () => {
    const { code, stderr } = await runCli(['convert', work, '--out', join(work, 'x')]);
    expect(code).toBe(2);
    expect(stderr).toContain('config.yaml not found');
  });
});
