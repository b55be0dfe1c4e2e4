/**
 * Atomic file writes: the bytes go to a fresh temp file beside the target, then a rename puts them in place, so a
 * reader (or a `--resume` after a kill) sees the old file or the whole new one, never half of one.
 *
 * Hand-written rather than `write-file-atomic` because that package resolves symlinks and writes through them:
 * a planted `result.json -> /elsewhere` link would send our bytes out of the output folder. Here the temp file is
 * created with O_EXCL (never follows or reuses a path) and rename replaces a link itself, not its target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A fresh hidden temp-file name in `path`'s folder, for a file that is renamed to `path` once complete. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to `path` atomically (same folder temp file, fsync, rename). Several parts are written one after
 * the other, so a large body (a WAV's samples) is written from where it lies, never joined into one more copy.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
  const temp = tempPathBeside(path);
  const handle = await open(temp, 'wx', 0o644);
  try {
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else for (const part of data) await handle.write(part);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}
