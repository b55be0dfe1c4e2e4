/**
 * The model the page runs itself ("in this page" and "Listen live"), in a module Web Worker (model-worker.ts, built
 * beside app.js) so that a long prediction never freezes the page: the server's converted model (model.json and its
 * shards), fetched once by the page and kept in the Cache API under the model's fingerprint, then handed to the
 * worker as Blobs (a Blob crosses to a worker by reference, not by copy). The worker loads it on the backend the
 * user chose ('auto': WebGPU, then WebGL, then wasm). Loading reports how many of the model's files have arrived.
 */
import { Emotion2VecWorker, type BackendName } from '../browser.js';

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

/** The backends the page offers for its own model ('auto' tries them in this order). */
export const PAGE_BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm'] as const;
export type PageBackend = (typeof PAGE_BACKENDS)[number];

const CACHE_PREFIX = 'emotion2vec-model-';
/** The names the server serves beside model.json (src/server/page-model.ts): no paths, nothing else. */
const SHARD_NAME = /^[\w.-]+$/;

/**
 * fetch for the model's files that answers from the Cache API when it can: the weights cross the network once
 * per model (the cache is named by the model's fingerprint, so a new model never mixes with old shards). Counts the
 * files into `files`.
 */
function cachedFetch(cacheName: string, files: ModelFiles, onFile: () => void): (url: string) => Promise<Response> {
  const counted = (response: Response, fromNetwork: boolean) => {
    files.arrived++;
    if (fromNetwork) files.fromNetwork++;
    onFile();
    return response;
  };
  return async (url) => {
    if (!('caches' in globalThis)) return counted(await fetch(url), true);
    const cache = await caches.open(cacheName);
    const hit = await cache.match(url);
    if (hit) return counted(hit, false);
    const response = await fetch(url);
    if (response.ok) await cache.put(url, response.clone());
    return counted(response, true);
  };
}

/** Drops caches of models this server no longer serves. */
async function forgetOtherModels(keep: string): Promise<void> {
  if (!('caches' in globalThis)) return;
  for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== keep) await caches.delete(name);
}

/** model.json and its shards, as Blobs by file name (what `Emotion2VecWorker.load` takes as in-memory files). */
async function fetchModelFiles(
  modelJsonUrl: string,
  fetchFile: (url: string) => Promise<Response>,
  files: ModelFiles,
): Promise<Record<string, Blob>> {
  const blobOf = async (url: string) => {
    const response = await fetchFile(url);
    if (!response.ok) throw new Error(`The server did not send the page's model file ${url} (${response.status}).`);
    return response.blob();
  };
  const manifestBlob = await blobOf(modelJsonUrl);
  const manifest = JSON.parse(await manifestBlob.text()) as { weightsManifest?: { paths?: unknown }[] };
  const shards = (manifest.weightsManifest ?? []).flatMap((group) => (Array.isArray(group.paths) ? group.paths : []));
  const bad = shards.find((name) => typeof name !== 'string' || !SHARD_NAME.test(name));
  if (bad !== undefined)
    throw new Error(`The page's model.json names a shard this page will not fetch: ${String(bad)}.`);
  files.total = 1 + shards.length;
  const byName: Record<string, Blob> = { 'model.json': manifestBlob };
  for (const name of shards as string[]) byName[name] = await blobOf(new URL(name, modelJsonUrl).href);
  return byName;
}

/**
 * Loads the page's model once per chosen backend; later calls share the same load (a failed load is tried again next
 * time). Choosing another backend disposes the loaded model (and its worker) and loads it again.
 */
export class InPageModel {
  private loading: Promise<Emotion2VecWorker> | null = null;
  private backend: PageBackend | null = null;
  /** Files of the current (or last) load. */
  readonly files: ModelFiles = { total: null, arrived: 0, fromNetwork: 0 };
  /** True once the model is loaded on the backend last asked for (the next `get` resolves at once). */
  loaded = false;

  constructor(private readonly info: PageModelInfo | null) {}

  get available(): boolean {
    return this.info !== null;
  }

  /** The model on `backend`, loaded on first use; `onFile` hears each model file as it arrives. */
  get(backend: PageBackend, onFile: (files: ModelFiles) => void = () => undefined): Promise<Emotion2VecWorker> {
    if (this.loading && this.backend !== backend) {
      // The model on the other backend goes, with its worker (once its load has settled).
      void this.loading.then((model) => model.dispose()).catch(() => undefined);
      this.loading = null;
      this.loaded = false;
    }
    this.backend = backend;
    if (!this.loading) {
      const loading = this.load(backend, onFile);
      this.loading = loading;
      loading.then(
        () => {
          if (this.loading === loading) this.loaded = true;
        },
        () => {
          if (this.loading === loading) this.loading = null;
        },
      );
    }
    return this.loading;
  }

  /** True when `get(backend)` would answer at once. */
  loadedOn(backend: PageBackend): boolean {
    return this.loaded && this.backend === backend;
  }

  private async load(backend: PageBackend, onFile: (files: ModelFiles) => void): Promise<Emotion2VecWorker> {
    const info = this.info;
    if (!info) throw new Error('This server does not offer its model to the page (it was started without one).');
    const cacheName = `${CACHE_PREFIX}${info.fingerprint}`;
    await forgetOtherModels(cacheName);
    Object.assign(this.files, { total: null, arrived: 0, fromNetwork: 0 });
    const modelFiles = await fetchModelFiles(
      new URL(info.url, location.href).href,
      cachedFetch(cacheName, this.files, () => onFile(this.files)),
      this.files,
    );
    // esbuild does not follow `new Worker(new URL(...))`: build.ts bundles the worker as its own entry, beside app.js.
    const worker = new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module' });
    return Emotion2VecWorker.load(worker, modelFiles, {
      backend: backend satisfies BackendName,
      wasmPaths: new URL('/wasm/', location.href).href,
    });
  }
}
