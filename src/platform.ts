/**
 * Platform hooks. The core (model, layers, audio maths) is isomorphic; what only one runtime can do
 * (read a file path in Node, run ffmpeg, call the browser's decodeAudioData) is installed here by the
 * runtime's entry point (`src/node.ts`, `src/browser.ts`), so no Node module enters the browser bundle. The
 * audio fallback decoder is the audio room's own hook (src/audio/fallback-decoder.ts).
 */
import type { HubModel } from './hub/models.js';
import type { HubOptions } from './hub/progress.js';
import type { ModelSource } from './model/sources.js';
import type { RandomAccess } from './io/random-access.js';

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
  /** Fetches a model named by id into this platform's cache and returns what to load (Node: the disk cache's converted folder). */
  fetchHubModel?: (model: HubModel, options: HubOptions) => Promise<ModelSource>;
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
