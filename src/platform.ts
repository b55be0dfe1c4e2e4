/**
 * The file-system hooks. The core (model, layers, audio maths) is isomorphic; reading a file path is what only
 * one runtime can do, so the runtime's entry point installs it here (`installNodePlatform` in Node) and no Node
 * module enters the browser bundle. Every other hook lives with the room that uses it (the audio fallback decoder
 * in src/audio/fallback-decoder.ts, the hub model cache in src/model/hub-source.ts, the backend hooks in
 * src/backend/select.ts). This file imports nothing of ours: every room may build on it.
 */

/** A file (or buffer) of known size read by position, synchronously (a model load reads in order). */
export interface RandomAccess {
  /** Bytes in the file when it was opened. */
  readonly size: number;
  /**
   * Copies bytes [position, position + target.length) into `target`; returns how many were there (fewer when
   * the file is shorter, e.g. it shrank after it was opened). Never reads past `size`.
   */
  readInto(position: number, target: Uint8Array): number;
  /** A view of bytes [position, position + length) without a copy, where the bytes are in memory already. */
  view?(position: number, length: number): Uint8Array;
}

/** Bounds for {@link Platform.readFile}. */
export interface ReadFileOptions {
  /** Refuse (FILE_TOO_LARGE) a file longer than this, before reading it. Default {@link DEFAULT_MAX_FILE_BYTES}. */
  readonly maxBytes?: number;
}

/** The largest file read when the caller names no bound (2 GiB, Node's own readFile limit). */
export const DEFAULT_MAX_FILE_BYTES = 2 ** 31 - 1;

/**
 * Why a platform refused to read a file, before reading it. Callers turn it into their own typed error
 * (AudioInputError for audio, CheckpointError/ConfigError for model files) with the same `code`.
 */
export class FileRefusal extends Error {
  constructor(
    readonly code: 'FILE_NOT_REGULAR' | 'FILE_TOO_LARGE' | 'FILE_NAME_ENCODING',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'FileRefusal';
  }
}

export interface Platform {
  /** Short name for messages: 'node', 'browser' or 'generic'. */
  readonly name: 'node' | 'browser' | 'generic';
  /**
   * Reads a local file path. Only Node has one. Regular files only, size known before reading: anything else
   * (a FIFO, /dev/zero, a symlink to either, a file over `maxBytes`) is refused at once with a {@link FileRefusal}.
   */
  readFile?: (path: string, options?: ReadFileOptions) => Promise<Uint8Array>;
  /**
   * Opens a local file for reads by position (Node only), with the same refusals as `readFile`: checkpoints and
   * weight shards are read from it tensor by tensor instead of whole.
   */
  openFile?: (path: string, options?: ReadFileOptions) => Promise<RandomAccess>;
  /** The local path a `file:` URL names (Node only). */
  pathFromFileUrl?: (url: URL) => string;
  /** Whether a local path is a directory (Node only). */
  isDirectory?: (path: string) => Promise<boolean>;
  /** Lists the file names in a local directory (Node only). */
  listDirectory?: (path: string) => Promise<string[]>;
}

let current: Platform = { name: 'generic' };

/** Installs the hooks of the running platform. Called once by each entry point. */
export function installPlatform(platform: Platform): void {
  current = platform;
}

/** The hooks of the running platform. */
export function getPlatform(): Platform {
  return current;
}
