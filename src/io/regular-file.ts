/**
 * Node's file reader for everything the library opens (audio, config.yaml, tokens.txt, checkpoints, shards):
 * regular files only, and the size known before a byte is allocated. A FIFO would hang a batch, a symlink to
 * /dev/zero would grow without end, so both are refused at once with a typed reason instead of read.
 * Node-only: imported by src/node.ts and the Node-only surfaces (the CLI, the queue, head training), never by the
 * browser entry.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { DEFAULT_MAX_FILE_BYTES, FileRefusal, type ReadFileOptions } from '../platform.js';
import { quote } from '../errors.js';
import type { RandomAccess } from './random-access.js';

/** Opening with O_NONBLOCK returns at once even for a FIFO with no writer (the fstat then refuses it). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Reads a whole regular file; refuses other kinds of file and files over `maxBytes` before reading. */
export async function readRegularFile(path: string, options: ReadFileOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  // stat (which follows symlinks) first, so that a device is never even opened.
  checkRegular(path, await stat(path).catch((error: unknown) => rethrowWithNameNote(path, error)), maxBytes);
  const handle = await open(path, OPEN_FLAGS);
  try {
    // And again on the open handle: the path may have been swapped between the two calls.
    const info = await handle.stat();
    checkRegular(path, info, maxBytes);
    const bytes = new Uint8Array(info.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break; // the file shrank while being read: keep what is there
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/**
 * Opens a regular file for reads by position (a checkpoint or weight shard read tensor by tensor, straight into
 * the tensors' buffers): checked like readRegularFile now, and again on every read, which opens the file,
 * checks that it is still the regular file of the size first seen, reads and closes it. Holding no descriptor
 * between reads means a load that stops half-way (a bad tensor) leaves nothing open.
 */
export async function openRegularFile(path: string, options: ReadFileOptions = {}): Promise<RandomAccess> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
  checkRegular(path, await stat(path).catch((error: unknown) => rethrowWithNameNote(path, error)), maxBytes);
  const handle = await open(path, OPEN_FLAGS);
  let size: number;
  try {
    const info = await handle.stat();
    checkRegular(path, info, maxBytes);
    size = info.size;
  } finally {
    await handle.close();
  }
  return {
    size,
    readInto(position, target) {
      const length = Math.max(0, Math.min(target.length, size - position));
      if (length === 0) return 0;
      const fd = openSync(path, OPEN_FLAGS);
      try {
        const info = fstatSync(fd);
        checkRegular(path, info, maxBytes);
        // A file that changed size since it was opened is read no further: callers report it cut short.
        if (info.size !== size) return 0;
        let filled = 0;
        while (filled < length) {
          const bytesRead = readSync(fd, target, filled, length - filled, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled;
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * What `path` is when it exists but is not a regular file ('a directory', 'a FIFO (named pipe)'...), else null:
 * a regular file, or nothing there (the reader names that). For refusing such an input before work is queued for
 * it, so that a FIFO is not left to block a worker; the readers above check again when they open it.
 */
export async function nonRegularKind(path: string): Promise<string | null> {
  const info = await stat(path).catch(() => null);
  return info && !info.isFile() ? kindOf(info) : null;
}

/** A file that is not regular, in words. */
function kindOf(info: Stats): string {
  return info.isDirectory()
    ? 'a directory'
    : info.isFIFO()
      ? 'a FIFO (named pipe)'
      : info.isCharacterDevice()
        ? 'a character device'
        : info.isBlockDevice()
          ? 'a block device'
          : info.isSocket()
            ? 'a socket'
            : 'not a regular file';
}

function checkRegular(path: string, info: Stats, maxBytes: number): void {
  if (!info.isFile()) {
    const kind = kindOf(info);
    if (info.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: 'EISDIR' });
    throw new FileRefusal(
      'FILE_NOT_REGULAR',
      `${quote(path)} is ${kind} (or a link to one), not a regular file; only regular files are read. Pass the path of a file.`,
      { path, kind },
    );
  }
  if (info.size > maxBytes) {
    throw new FileRefusal(
      'FILE_TOO_LARGE',
      `${quote(path)} is ${info.size} bytes, more than the ${maxBytes} bytes a file of this kind may have.`,
      { path, size: info.size, maxBytes },
    );
  }
}

/** A missing path whose name holds U+FFFD is most likely a name that is not valid UTF-8 (Node replaced its bytes). */
function rethrowWithNameNote(path: string, error: unknown): never {
  if ((error as { code?: string }).code === 'ENOENT' && path.includes('\uFFFD')) {
    throw new FileRefusal(
      'FILE_NAME_ENCODING',
      `Cannot open ${quote(path)}: its name is not valid UTF-8 (the bytes shown as \uFFFD), so it cannot be named through a JavaScript string. Rename the file (or its folder) to a UTF-8 name.`,
      { path },
    );
  }
  throw error;
}
