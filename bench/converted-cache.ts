/** Benchmark inputs kept between runs: the synthetic base- or large-shaped model, converted as float32 or int8. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The synthetic `name`-shaped model converted as `dtype`, written once into .bench-cache/threads/<name> (float32)
 * or <name>-<dtype>.
 */
export async function convertedModel(name: string, dtype: 'float32' | 'int8' = 'float32'): Promise<string> {
  const folder = join('.bench-cache', 'threads', dtype === 'float32' ? name : `${name}-${dtype}`);
  if (!existsSync(join(folder, 'model.json'))) {
    const { convertedFiles } = await import('../test/support/converted-files.js');
    mkdirSync(folder, { recursive: true });
    const files = await convertedFiles(name as 'base' | 'large', dtype);
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(folder, file), bytes);
  }
  return folder;
}
