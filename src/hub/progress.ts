/**
 * Load progress events and the hub options of `Emotion2Vec.load` (shaped like transformers.js' `progress_callback`).
 */
import type { HubEndpoints, HubName } from './models.js';

/**
 * What `load` reports: per file bytes as they arrive (`total` null when the server does not say), a file found in
 * the cache, then `converting` (first load of a downloaded model only) and `ready` once the weights are loaded.
 */
export type LoadProgress =
  | { readonly status: 'download'; readonly file: string; readonly loaded: number; readonly total: number | null }
  | { readonly status: 'cached'; readonly file: string }
  | { readonly status: 'converting' }
  | { readonly status: 'ready' };

export type ProgressCallback = (event: LoadProgress) => void;

/** Options for models named by id (ignored for folders, URLs and in-memory files). */
export interface HubOptions {
  /** Hub to fetch from; defaults to the id's own hub (`iic/...` ModelScope, else Hugging Face). */
  readonly hub?: HubName | 'hf' | 'ms';
  /** Hub endpoints; default `HF_ENDPOINT` / `MODELSCOPE_ENDPOINT`, else the public hubs. */
  readonly endpoints?: HubEndpoints;
  /** Cache folder (Node); default `$EMOTION2VEC_CACHE`, else `~/.cache/emotion2vec-tfjs`. */
  readonly cacheDir?: string;
  /**
   * Never touch the network: use the cache or fail with `MODEL_OFFLINE`. Default: `EMOTION2VEC_OFFLINE=1` or
   * `HF_HUB_OFFLINE=1`.
   */
  readonly offline?: boolean;
  /** Called with download, conversion and ready events. */
  readonly progress?: ProgressCallback;
  /** fetch used for downloads (defaults to the global fetch). */
  readonly fetch?: typeof fetch;
  /**
   * A download attempt that receives no byte for this long (response headers included) is cut and retried from where
   * it stopped. Default `EMOTION2VEC_STALL_TIMEOUT` (seconds), else 30 s.
   */
  readonly stallTimeoutMs?: number;
  /**
   * Each file must arrive within this long, every attempt together. Default `EMOTION2VEC_DOWNLOAD_DEADLINE`
   * (seconds), else 10 minutes plus the file's size at 64 KiB/s.
   */
  readonly deadlineMs?: number;
}

/** The offline switch: the option, else the environment. */
export function isOffline(options: HubOptions): boolean {
  if (options.offline !== undefined) return options.offline;
  const env = typeof process !== 'undefined' ? process.env : {};
  return ['EMOTION2VEC_OFFLINE', 'HF_HUB_OFFLINE'].some((name) => /^(1|true|yes|on)$/i.test(env[name] ?? ''));
}
