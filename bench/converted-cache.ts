/** Benchmark inputs kept between runs: the synthetic base- or large-shaped model, converted as float32. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The synthetic `name`-shaped model converted as float32, written once into .bench-cache/threads/<name>. */
export async function convertedModel(name: string): Promise<string> {
  const folder = join('.bench-cache', 'threads', name);
  if (!existsSync(join(folder, 'model.json'))) {
    const { convertedFiles } = await import('../test/support/converted-files.js');
    mkdirSync(folder, { recursive: true });
    const files = await convertedFiles(name as 'base' | 'large', 'float32');
    for (const [file, bytes] of Object.entries(files)) writeFileSync(join(folder, file), bytes);
  }
  return folder;
}
