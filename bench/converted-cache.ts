/** Benchmark inputs kept between runs: a bench model (bench/models.ts), converted as float32 or int8. */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { benchModel, convertFolder, isBenchModel, writeCheckpointFolder } from './models.js';

/**
 * The synthetic model `name` (base, large, or either `-per-layer`) converted as `dtype`, once, into
 * .bench-cache/threads/<name> (float32) or <name>-<dtype>.
 */
export async function convertedModel(name: string, dtype: 'float32' | 'int8' = 'float32'): Promise<string> {
  if (!isBenchModel(name)) throw new Error(`unknown model ${name}: base, large, base-per-layer or large-per-layer`);
  const folder = join('.bench-cache', 'threads', dtype === 'float32' ? name : `${name}-${dtype}`);
  if (!existsSync(join(folder, 'model.json'))) {
    const checkpoint = join('.bench-cache', 'threads', `${name}-checkpoint`);
    writeCheckpointFolder(benchModel(name), checkpoint);
    await convertFolder(checkpoint, folder, dtype);
    rmSync(checkpoint, { recursive: true, force: true });
  }
  return folder;
}
