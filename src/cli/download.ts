/**
 * `emotion2vec download <id>`: fetch a model into the cache and convert it, so later runs (offline too) start at once.
 */
import { ensureCachedModel } from '../model/hub-cache.js';
import { parseHubName, resolveHubModel } from '../hub/models.js';
import { UsageError } from '../errors.js';
import { printable } from '../results/safe-name.js';
import { reportFatal } from './output.js';
import { loadProgressDisplay } from './progress.js';

export interface DownloadOptions {
  readonly hub?: string;
  readonly cacheDir?: string;
}

export async function download(id: string, options: DownloadOptions): Promise<number> {
  const display = loadProgressDisplay();
  try {
    const model = resolveHubModel(id, parseHubName(options.hub));
    const folder = await ensureCachedModel(model, { cacheDir: options.cacheDir, progress: display.callback });
    display.stop();
    process.stdout.write(`${printable(model.repo)} (${model.hub}) is ready: ${printable(folder)}\n`);
    return 0;
  } catch (error) {
    display.stop();
    reportFatal(error);
    // A bad id or hub name is a usage error; a failed download is a failure.
    return error instanceof UsageError || (error as { code?: string }).code === 'MODEL_UNKNOWN' ? 2 : 1;
  }
}
