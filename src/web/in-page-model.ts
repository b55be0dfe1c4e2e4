/**
 * The model the page runs itself ("in this page" and "Listen live"): the server's converted model (model.json and
 * its shards), fetched once and kept in the Cache API under the model's fingerprint, loaded on WebGL when the
 * browser has it, else wasm. Loading reports how many of the model's files have arrived.
 */
import { Emotion2Vec } from '../browser.js';

/** What `/health` says about the page's model. */
export interface PageModelInfo {
  readonly url: string;
  readonly fingerprint: string;
}

/** How a load went: files in the model, and how many came from the network rather than the Cache API. */
export interface ModelFiles {
  total: number | null;
  arrived: number;
  fromNetwork: number;
}

const CACHE_PREFIX = 'emotion2vec-model-';

/**
 * fetch for the model's files that answers from the Cache API when it can: the weights cross the network once
 * per model (the cache is named by the model's fingerprint, so a new model never mixes with old shards). Counts the
 * files into `files` (model.json names the shards, so the total is known once it is read).
 */
function cachedFetch(cacheName: string, files: ModelFiles, onFile: () => void): typeof fetch {
  const counted = (response: Response, url: string, fromNetwork: boolean) => {
    if (url.endsWith('/model.json')) {
      void response
        .clone()
        .json()
        .then((manifest: { weightsManifest?: { paths: string[] }[] }) => {
          files.total = 1 + (manifest.weightsManifest ?? []).reduce((sum, group) => sum + group.paths.length, 0);
          onFile();
        })
        .catch(() => undefined);
    }
    files.arrived++;
    if (fromNetwork) files.fromNetwork++;
    onFile();
    return response;
  };
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!('caches' in globalThis)) return counted(await fetch(input, init), url, true);
    const cache = await caches.open(cacheName);
    const hit = await cache.match(url);
    if (hit) return counted(hit, url, false);
    const response = await fetch(input, init);
    if (response.ok) await cache.put(url, response.clone());
    return counted(response, url, true);
  };
}

/** Drops caches of models this server no longer serves. */
async function forgetOtherModels(keep: string): Promise<void> {
  if (!('caches' in globalThis)) return;
  for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== keep) await caches.delete(name);
}

/** Loads the page's model once; later calls share the same load (a failed load is tried again next time). */
export class InPageModel {
  private loading: Promise<Emotion2Vec> | null = null;
  /** Files of the current (or last) load. */
  readonly files: ModelFiles = { total: null, arrived: 0, fromNetwork: 0 };
  /** True once the model is loaded (the next `get` resolves at once). */
  loaded = false;

  constructor(private readonly info: PageModelInfo | null) {}

  get available(): boolean {
    return this.info !== null;
  }

  /** The model, loaded on first use; `onFile` hears each model file as it arrives. */
  get(onFile: (files: ModelFiles) => void = () => undefined): Promise<Emotion2Vec> {
    this.loading ??= this.load(onFile);
    return this.loading;
  }

  private async load(onFile: (files: ModelFiles) => void): Promise<Emotion2Vec> {
    try {
      const info = this.info;
      if (!info) throw new Error('This server does not offer its model to the page (it was started without one).');
      const cacheName = `${CACHE_PREFIX}${info.fingerprint}`;
      await forgetOtherModels(cacheName);
      await import('@tensorflow/tfjs-backend-webgl');
      Object.assign(this.files, { total: null, arrived: 0, fromNetwork: 0 });
      const model = await Emotion2Vec.load(new URL(info.url, location.href).href, {
        backend: 'auto',
        wasmPaths: '/wasm/',
        fetch: cachedFetch(cacheName, this.files, () => onFile(this.files)),
      });
      this.loaded = true;
      return model;
    } catch (error) {
      this.loading = null;
      throw error;
    }
  }
}
