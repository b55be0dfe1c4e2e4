/**
 * The house stays as drawn: every import in src/ follows the one-way rules of docs/architecture.md, as
 * .dependency-cruiser.cjs writes them down.
 */
import { cruise, type ICruiseOptions, type IReporterOutput } from 'dependency-cruiser';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const config = require(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: unknown[]; options: ICruiseOptions };

/** The files allowed at the top of src/: the ground floor, the entries and the platform installers. */
const TOP_LEVEL = [
  'browser-platform.ts',
  'browser.ts',
  'errors.ts',
  'index.ts',
  'node-platform.ts',
  'node.ts',
  'platform.ts',
];
const ROOMS = [
  'assistant',
  'audio',
  'backend',
  'cli',
  'hub',
  'io',
  'layers',
  'model',
  'queue',
  'results',
  'server',
  'train',
  'web',
  'worker',
];

async function violations(baseDir: string): Promise<string[]> {
  const result = await cruise(['src'], {
    ...config.options,
    baseDir,
    validate: true,
    ruleSet: { forbidden: config.forbidden },
  } as ICruiseOptions);
  const output = (result as IReporterOutput).output as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  return output.summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
}

describe('the import graph of src/', () => {
  it('has no arrow that runs the wrong way', async () => {
    expect(await violations(ROOT)).toEqual([]);
  }, 120_000);

  it('has nothing outside the rooms but the ground floor, the entries and the platform installers', () => {
    const entries = readdirSync(join(ROOT, 'src'), { withFileTypes: true });
    expect(
      entries
        .filter((e) => e.isFile() && e.name.endsWith('.ts'))
        .map((e) => e.name)
        .sort(),
    ).toEqual(TOP_LEVEL);
    expect(
      entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort(),
    ).toEqual(ROOMS);
  });

  it('catches a wrong arrow (the rules are live): a layer importing the model, the ground floor importing io', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-graph-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), text);
      };
      write('src/model/config.ts', 'export const x = 1;\n');
      write('src/io/bytes.ts', 'export const y = 2;\n');
      write('src/backend/kernels.ts', 'export const k = 3;\n');
      write(
        'src/layers/gelu.ts',
        "import { x } from '../model/config.js';\nimport { k } from '../backend/kernels.js';\nexport const g = x + k;\n",
      );
      write('src/errors.ts', "import { y } from './io/bytes.js';\nexport const e = y;\n");
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler' } }));
      expect((await violations(dir)).sort()).toEqual([
        'ground-floor: src/errors.ts -> src/io/bytes.ts',
        'room-layers: src/layers/gelu.ts -> src/model/config.ts',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
