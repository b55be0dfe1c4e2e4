import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, manifestInputs } from '../support/fixtures.js';
import { startLoopbackHub, type LoopbackHub } from '../support/loopback-hub.js';
import { runCli } from './run-cli.js';

/** The tiny fixture model under an id known-models.json does not list (a known id must have its published shape). */
const ID = 'someone/tiny-emotion2vec';
const expected = Object.fromEntries(manifestInputs('tiny').map((input) => [input.id, input]));
let hub: LoopbackHub;
let cache: string;
let env: Record<string, string>;

beforeAll(async () => {
  hub = await startLoopbackHub(fixturePath('tiny'), [ID]);
  cache = mkdtempSync(join(tmpdir(), 'e2v-cli-cache-'));
  env = { HF_ENDPOINT: hub.endpoint, EMOTION2VEC_CACHE: cache };
});
afterAll(async () => {
  await hub.close();
  rmSync(cache, { recursive: true, force: true });
});

describe('emotion2vec download and --model <id>', () => {
  it('download fetches and converts into $EMOTION2VEC_CACHE with plain progress lines off a terminal; analyze then runs offline', async () => {
    const fetched = await runCli(['download', ID], { env });
    expect(fetched.code, fetched.stderr).toBe(0);
    const size = (statSync(fixturePath('tiny', 'model.pt')).size / 2 ** 20).toFixed(1);
    expect(fetched.stderr).toContain(`downloading model.pt: ${size} of ${size} MiB\n`);
    expect(fetched.stderr).toContain('converting the model');
    const converted = join(cache, 'huggingface', 'someone--tiny-emotion2vec', 'converted');
    expect(fetched.stdout).toContain(converted);
    expect(existsSync(join(converted, 'model.json'))).toBe(true);

    hub.requests.length = 0;
    const run = await runCli(
      [
        'analyze',
        fixturePath('audio', 'chirp16k.wav'),
        '--model',
        ID,
        '--offline',
        '--json',
        '--no-output',
        '--backend',
        'wasm',
      ],
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    const record = JSON.parse(run.stdout);
    expect(record.model).toBe(ID);
    expect(`${record.emotion_zh}/${record.emotion}`).toBe(expected.chirp16k!.top);
    expect(hub.requests).toEqual([]);
  });

  it('convert takes a model id as every command does: fetched through the cache, then converted to --out', async () => {
    const out = join(cache, 'converted-by-id');
    const converted = await runCli(['convert', ID, '--out', out, '--dtype', 'float16', '--offline'], { env });
    expect(converted.code, converted.stderr).toBe(0);
    expect(converted.stdout).toContain('MiB (float16)');
    expect(existsSync(join(out, 'model.json'))).toBe(true);
    const run = await runCli(
      ['analyze', fixturePath('audio', 'chirp16k.wav'), '--model', out, '--json', '--no-output', '--backend', 'wasm'],
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(`${JSON.parse(run.stdout).emotion_zh}/${JSON.parse(run.stdout).emotion}`).toBe(expected.chirp16k!.top);
    // An id that is not cached, offline: the hub cache's own error, not MODEL_NOT_FOUND for a missing folder.
    const missing = await runCli(
      ['convert', 'emotion2vec/emotion2vec_plus_seed', '--out', join(cache, 'x'), '--offline'],
      { env },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('MODEL_OFFLINE');
  });

  it('an unknown id is a 404 naming the URL (exit 1); offline without a cache says how to fetch by hand (exit 2)', async () => {
    const missing = await runCli(['download', 'someone/nothing-here'], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${hub.endpoint}/someone/nothing-here/resolve/main/config.yaml`);
    const offline = await runCli(
      [
        'analyze',
        fixturePath('audio', 'chirp16k.wav'),
        '--model',
        'emotion2vec/emotion2vec_plus_large',
        '--offline',
        '--no-output',
      ],
      { env },
    );
    expect(offline.code).toBe(2);
    expect(offline.stderr).toContain('MODEL_OFFLINE');
    expect(offline.stderr).toContain(join(cache, 'huggingface', 'emotion2vec--emotion2vec_plus_large', 'raw'));
  });
});
