/**
 * Utterance embeddings (and the model's own scores, for soft labels) of labelled recordings, extracted once and
 * kept in an on-disk cache beside the run (Node). A file is looked up by its absolute path, size and modification
 * time, under a key of the model (its location, config, labels and file stamps), so an edited recording or another
 * model never reuses a stale row.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { decodeNpy, encodeNpy } from '../io/npy.js';
import { readRegularFile } from '../io/regular-file.js';
import { isHttpUrl } from '../io/url.js';
import type { Emotion2Vec } from '../model/emotion2vec.js';
import { writeFileAtomic } from '../results/atomic-write.js';
import type { LabelledItem } from './dataset.js';

/** What extraction gives, one row per item in the order given. */
export interface Features {
  /** Embedding width D. */
  readonly dim: number;
  /** (N, D) utterance embeddings, row-major. */
  readonly embeddings: Float32Array;
  /** The model's own labels (empty for an embedding-only model). */
  readonly baseLabels: readonly string[];
  /** (N, baseLabels.length) the model's own scores. */
  readonly baseScores: Float32Array;
  /** Rows read from the cache rather than computed. */
  readonly cached: number;
}

export interface FeatureOptions {
  /** Folder of the cache; none: nothing is cached. */
  readonly cacheDir?: string;
  /** Trim leading/trailing silence before the model (part of the cache key). */
  readonly trimSilence?: boolean;
  /** Called after each chunk of recordings. */
  readonly onProgress?: (done: number, total: number) => void;
}

const CACHE_VERSION = 1;
/** The cache index: a key of about 100 characters per recording; far more than any labelled set needs. */
const MAX_INDEX_BYTES = 256 * 2 ** 20;
/** Recordings decoded and run per predictBatch call: bounds the audio held in memory. */
const CHUNK = 16;
/** Failures listed by name in the error; the rest are counted. */
const LISTED = 10;

interface CacheIndex {
  readonly version: number;
  readonly model: string;
  readonly dim: number;
  readonly labels: readonly string[];
  /** File key -> row of the .npy. */
  readonly rows: Record<string, number>;
}

/** Embeddings and base scores of `items`, from the cache where it has them, else from `model` (and then cached). */
export async function extractFeatures(
  model: Emotion2Vec,
  items: readonly LabelledItem[],
  options: FeatureOptions = {},
): Promise<Features> {
  const dim = model.embeddingDim;
  const baseLabels = model.labels;
  const width = dim + baseLabels.length;
  const key = options.cacheDir ? await modelKey(model, options) : null;
  const cache = options.cacheDir && key ? await openCache(options.cacheDir, key, dim, baseLabels) : null;
  const fileKeys = await Promise.all(items.map((item) => fileKey(item.path)));

  const table = new Float32Array(items.length * width);
  const todo: number[] = [];
  fileKeys.forEach((key, i) => {
    const row = cache?.lookup(key);
    if (row) table.set(row, i * width);
    else todo.push(i);
  });
  const cached = items.length - todo.length;
  options.onProgress?.(cached, items.length);

  const failures: string[] = [];
  try {
    for (let start = 0; start < todo.length; start += CHUNK) {
      const chunk = todo.slice(start, start + CHUNK);
      const results = await model.predictBatch(
        chunk.map((i) => items[i]!.path),
        { embedding: true, trimSilence: options.trimSilence },
      );
      results.forEach((result, j) => {
        const i = chunk[j]!;
        if (!result.ok) {
          failures.push(`${items[i]!.key}: ${result.error.code} ${result.error.message.slice(0, 200)}`);
          return;
        }
        const row = new Float32Array(width);
        row.set(result.prediction.embedding!.data, 0);
        row.set(result.prediction.scores, dim);
        table.set(row, i * width);
        cache?.add(fileKeys[i]!, row);
      });
      options.onProgress?.(cached + Math.min(start + CHUNK, todo.length), items.length);
    }
  } finally {
    // What was computed is kept even when a later chunk fails: a rerun picks up from there.
    await cache?.save();
  }
  if (failures.length > 0) {
    throw new UsageError(
      'TRAIN_AUDIO_UNREADABLE',
      `${failures.length} recording(s) could not be analysed: ${failures.slice(0, LISTED).join('; ')}${failures.length > LISTED ? '; ...' : ''}. Fix or drop them; the others are cached and will not be recomputed.`,
      { details: { failures: failures.slice(0, LISTED), count: failures.length } },
    );
  }
  return {
    dim,
    embeddings: pick(table, items.length, width, 0, dim),
    baseLabels,
    baseScores: pick(table, items.length, width, dim, width),
    cached,
  };
}

function pick(table: Float32Array, rows: number, width: number, from: number, to: number): Float32Array {
  const out = new Float32Array(rows * (to - from));
  for (let r = 0; r < rows; r++) out.set(table.subarray(r * width + from, r * width + to), r * (to - from));
  return out;
}

async function fileKey(path: string): Promise<string> {
  const info = await stat(path);
  return `${resolve(path)}\u0000${info.size}\u0000${info.mtimeMs}`;
}

/**
 * The model's identity: location, config, labels and (for a local folder) its files' sizes and times. Null for a
 * model loaded from in-memory files, which has no identity to key a cache on: it is then not cached.
 */
async function modelKey(model: Emotion2Vec, options: FeatureOptions): Promise<string | null> {
  const location = model.loadReport.location;
  const isUrl = isHttpUrl(location);
  if (
    !isUrl &&
    !(await stat(location).then(
      (info) => info.isDirectory(),
      () => false,
    ))
  )
    return null;
  const stamps: string[] = [];
  const names = await readdir(location).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const info = await stat(join(location, name)).catch(() => null);
    if (info?.isFile()) stamps.push(`${name}:${info.size}:${info.mtimeMs}`);
  }
  const identity = JSON.stringify({
    location: isUrl ? location : resolve(location),
    config: model.config,
    labels: model.labels,
    stamps,
    trim: options.trimSilence === true,
  });
  return createHash('sha256').update(identity).digest('hex').slice(0, 16);
}

interface Cache {
  lookup(key: string): Float32Array | undefined;
  add(key: string, row: Float32Array): void;
  save(): Promise<void>;
}

/** Opens (or starts) the cache of one model; a damaged or foreign cache is started afresh, never trusted. */
async function openCache(dir: string, model: string, dim: number, labels: readonly string[]): Promise<Cache> {
  const indexFile = join(dir, `features-${model}.json`);
  const arrayFile = join(dir, `features-${model}.npy`);
  const width = dim + labels.length;
  const rows = new Map<string, Float32Array>();
  try {
    // Read as regular files of bounded size: a link to a device or a FIFO planted in the cache is not read.
    const index = JSON.parse(
      new TextDecoder().decode(await readRegularFile(indexFile, { maxBytes: MAX_INDEX_BYTES })),
    ) as CacheIndex;
    const array = decodeNpy(await readRegularFile(arrayFile));
    const fits =
      index.version === CACHE_VERSION &&
      index.model === model &&
      index.dim === dim &&
      array.shape.length === 2 &&
      array.shape[1] === width;
    if (fits) {
      for (const [key, row] of Object.entries(index.rows)) {
        if (Number.isInteger(row) && row >= 0 && row < array.shape[0]!)
          rows.set(key, array.data.slice(row * width, (row + 1) * width));
      }
    }
  } catch {
    // No cache yet, or one that cannot be read: it is rebuilt.
  }
  let changed = false;
  return {
    lookup: (key) => rows.get(key),
    add: (key, row) => {
      rows.set(key, row);
      changed = true;
    },
    save: async () => {
      if (!changed) return;
      await mkdir(dir, { recursive: true });
      const keys = [...rows.keys()];
      const data = new Float32Array(keys.length * width);
      keys.forEach((key, r) => data.set(rows.get(key)!, r * width));
      const index: CacheIndex = {
        version: CACHE_VERSION,
        model,
        dim,
        labels,
        rows: Object.fromEntries(keys.map((key, r) => [key, r])),
      };
      // Each file written aside then renamed (atomic-write.ts: never through a planted link). Rows keep their
      // numbers (new ones are appended), so the old index still fits the new array if a save stops between the two.
      await writeFileAtomic(arrayFile, encodeNpy(data, [keys.length, width]));
      await writeFileAtomic(indexFile, JSON.stringify(index));
      changed = false;
    },
  };
}
