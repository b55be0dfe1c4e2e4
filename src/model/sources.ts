/**
 * Where a model comes from, and what is in it. A source is a local folder or file (Node), an http(s) URL
 * of a folder, or files in memory (e.g. from a browser file picker). Two layouts are recognised:
 *
 * - a checkpoint folder as ModelScope / Hugging Face publish it: `config.yaml`, `model.pt` (or a
 *   `.safetensors` file) and `tokens.txt` (optional: without it the model gives embeddings only);
 * - a converted folder written by `emotion2vec convert`: `model.json` plus its weight shards.
 */
import { CheckpointError, ConfigError, UsageError, describeValue, isEmotion2VecError, quote } from '../errors.js';
import { FileRefusal, getPlatform } from '../platform.js';
import { isHttpUrl } from '../io/url.js';
import { readCheckpoint } from './checkpoint/index.js';
import { parseConfigYaml, parseTokens, type ModelDefinition } from './config.js';
import { CONVERTED_MANIFEST, readConvertedModel } from './converted.js';
import { MODEL_FILE_MAX_BYTES } from './limits.js';
import { checkManifestStructure, type ManifestBudget } from './manifest-checks.js';
import type { CheckpointContents } from './state-dict.js';
import { checkLabelsMatchHead, withFiniteWeights } from './weight-checks.js';
import { concatBytes } from '../io/bytes.js';
import type { RandomAccess } from '../io/random-access.js';

/** File contents a caller can hand over directly. */
export type ModelFileData = Uint8Array | ArrayBuffer | Blob | string;

/** A model as in-memory files: file name -> contents. */
export interface ModelFiles {
  readonly [fileName: string]: ModelFileData;
}

/** A local folder or file path (Node), an http(s) URL, in-memory files, or browser `File`s. */
export type ModelSource = string | URL | ModelFiles | readonly File[];

export interface SourceOptions {
  /** The fetch used for URL sources (defaults to the global fetch). */
  readonly fetch?: typeof fetch;
}

/** A model's definition and weights, before anything is put on a backend. */
export interface ModelContents {
  readonly definition: ModelDefinition;
  /** The raw `model_conf` mapping, kept so conversion can write it unchanged. */
  readonly modelConf: Record<string, unknown>;
  readonly weights: CheckpointContents;
  /** Human-readable origin, for messages and reports. */
  readonly location: string;
  readonly layout: 'checkpoint' | 'converted';
}

/** Reads files by name from one place; `null` for a file that is not there. */
export interface FileProvider {
  readonly location: string;
  /** Refuses (FILE_TOO_LARGE) a file over `maxBytes` before reading it whole. */
  read(name: string, maxBytes: number): Promise<Uint8Array | null>;
  /** Opens a file for reads by position (local files), refusing one over `maxBytes`; `null` when it is not there. */
  open?(name: string, maxBytes: number): Promise<RandomAccess | null>;
  /** The file names, or null where the place cannot be listed (URLs). */
  list(): Promise<string[] | null>;
  /** Why a file read as absent may in fact exist (e.g. the server refused it), for the not-found message. */
  absenceNote?(name: string): string | undefined;
}

const CONFIG_FILE = 'config.yaml';
const TOKENS_FILE = 'tokens.txt';
const WEIGHT_FILES = ['model.safetensors', 'model.pt'];
/** Weight files tried in a folder that cannot be listed (a URL): the published checkpoints ship model.pt. */
const UNLISTED_WEIGHT_FILES = ['model.pt', 'model.safetensors'];
const WEIGHT_EXTENSIONS = ['.safetensors', '.pt', '.pth'];

/** Reads a model's definition and (lazy) weights from any supported source. */
export async function readModelContents(source: ModelSource, options: SourceOptions = {}): Promise<ModelContents> {
  const { provider, preferredFile } = await providerFor(source, options);
  const names = await provider.list();
  const pick = preferredFile ?? (names?.includes(CONVERTED_MANIFEST) ? CONVERTED_MANIFEST : undefined);

  if (pick === CONVERTED_MANIFEST || pick?.endsWith('.json')) {
    return readConverted(provider, pick);
  }
  if (!pick && names === null) {
    // URLs cannot be listed. config.yaml is asked for first: a published checkpoint folder (config.yaml,
    // model.pt, tokens.txt) then loads without one request for a file it lacks (no 404s in a page's console).
    // A converted folder answers that one request with 404 and is read from model.json; a URL that names
    // model.json itself makes no probe at all.
    const configBytes = await provider.read(CONFIG_FILE, MODEL_FILE_MAX_BYTES[CONFIG_FILE]);
    if (!configBytes) {
      const manifest = await provider.read(CONVERTED_MANIFEST, MODEL_FILE_MAX_BYTES['model.json']);
      if (manifest) return readConverted(provider, CONVERTED_MANIFEST, manifest);
      throw notFound(
        provider,
        CONFIG_FILE,
        `a checkpoint folder needs config.yaml, model.pt (or .safetensors) and tokens.txt; a converted one needs ${CONVERTED_MANIFEST} (not found either)`,
      );
    }
    return readCheckpointFolder(provider, undefined, names, configBytes);
  }
  return readCheckpointFolder(provider, pick ?? weightFileIn(names), names);
}

async function readConverted(
  provider: FileProvider,
  manifestName: string,
  manifestBytes?: Uint8Array,
): Promise<ModelContents> {
  const bytes = manifestBytes ?? (await provider.read(manifestName, MODEL_FILE_MAX_BYTES['model.json']));
  if (!bytes) throw notFound(provider, manifestName);
  const text = new TextDecoder().decode(bytes);
  // Shards are read once each, and never more bytes in all than the manifest's tensors need (known once
  // readConvertedModel has validated the manifest, i.e. by the first shard request).
  let budget: ManifestBudget | null = null;
  let remaining = 0;
  const read = new Set<string>();
  const claim = (shard: string) => {
    if (!budget) {
      budget = checkManifestStructure(JSON.parse(text));
      remaining = budget.shardBytes;
    }
    if (read.has(shard))
      throw new CheckpointError(
        'CHECKPOINT_FORMAT',
        `${manifestName} lists the shard ${quote(shard)} more than once; convert the checkpoint again.`,
      );
    read.add(shard);
  };
  const found = <T extends { length: number } | { size: number }>(shard: string, data: T | null): T => {
    if (!data) throw notFound(provider, shard, `${manifestName} lists it as a weight shard`);
    remaining -= 'size' in data ? data.size : data.length;
    return data;
  };
  // Local shards are opened, not read: each tensor is then read from them straight into its own buffer.
  const openShard = provider.open?.bind(provider);
  const converted = await readConvertedModel(
    text,
    openShard
      ? {
          open: async (shard) => {
            claim(shard);
            return found(shard, await openShard(shard, remaining));
          },
        }
      : async (shard) => {
          claim(shard);
          return found(shard, await provider.read(shard, remaining));
        },
    provider.location,
  );
  const note = checkLabelsMatchHead(converted.definition, converted.weights, `${manifestName} "tokens"`, true);
  return {
    ...converted,
    weights: guarded(converted.weights, provider, note),
    location: provider.location,
    layout: 'converted',
  };
}

/** The weights with every read checked for finiteness, plus a note when there is one. */
function guarded(weights: CheckpointContents, provider: FileProvider, note: string | null): CheckpointContents {
  const checked = withFiniteWeights(weights, provider.location);
  return note ? { ...checked, notes: [...checked.notes, note] } : checked;
}

async function readCheckpointFolder(
  provider: FileProvider,
  weightFile: string | undefined,
  names: string[] | null,
  configRead?: Uint8Array,
): Promise<ModelContents> {
  const configBytes = configRead ?? (await provider.read(CONFIG_FILE, MODEL_FILE_MAX_BYTES[CONFIG_FILE]));
  if (!configBytes) {
    throw notFound(
      provider,
      CONFIG_FILE,
      'a checkpoint folder needs config.yaml, model.pt (or .safetensors) and tokens.txt; a converted one needs model.json',
    );
  }
  const { config, modelConf } = parseConfigYaml(new TextDecoder().decode(configBytes));
  const tokensBytes = await provider.read(TOKENS_FILE, MODEL_FILE_MAX_BYTES[TOKENS_FILE]);
  const tokens = tokensBytes ? parseTokens(new TextDecoder().decode(tokensBytes)) : [];

  const candidates = weightFile ? [weightFile] : names === null ? UNLISTED_WEIGHT_FILES : [];
  for (const name of candidates) {
    // Opened where the provider can (local files): a torch zip's tensors are then read straight from the file.
    const bytes = provider.open
      ? await provider.open(name, MODEL_FILE_MAX_BYTES.weights)
      : await provider.read(name, MODEL_FILE_MAX_BYTES.weights);
    if (bytes) {
      const definition = { config, tokens };
      const weights = readCheckpoint(bytes, name);
      const note = checkLabelsMatchHead(definition, weights, TOKENS_FILE, tokensBytes !== null);
      return {
        definition,
        modelConf,
        weights: guarded(weights, provider, note),
        location: provider.location,
        layout: 'checkpoint',
      };
    }
  }
  throw notFound(
    provider,
    weightFile ?? 'model.pt',
    `no weights found (looked for ${weightFile ?? [...WEIGHT_FILES, '*.safetensors', '*.pt'].join(', ')})`,
  );
}

/** The weights file of a listed folder: model.safetensors, model.pt, else the only .safetensors/.pt/.pth file. */
function weightFileIn(names: string[] | null): string | undefined {
  if (!names) return undefined;
  const preferred = WEIGHT_FILES.find((name) => names.includes(name));
  if (preferred) return preferred;
  return names.filter((name) => WEIGHT_EXTENSIONS.some((ext) => name.endsWith(ext))).sort()[0];
}

/** Where to read a source's files from (also used by trained heads, trained-head.ts). */
export async function providerFor(
  source: ModelSource,
  options: SourceOptions,
): Promise<{ provider: FileProvider; preferredFile?: string }> {
  if (source instanceof URL || (typeof source === 'string' && /^file:\/\//i.test(source))) {
    const url = new URL(String(source));
    // file: URLs (e.g. `new URL('./model/', import.meta.url)`) are local paths: Node reads them from disk.
    if (url.protocol === 'file:') return localProvider(localPathOf(url));
  }
  if (source instanceof URL || (typeof source === 'string' && isHttpUrl(source))) {
    return urlProvider(String(source), options.fetch ?? globalThis.fetch);
  }
  if (typeof source === 'string') return localProvider(source);
  if (Array.isArray(source)) {
    return {
      provider: memoryProvider(Object.fromEntries((source as readonly File[]).map((file) => [file.name, file]))),
    };
  }
  if (typeof source === 'object' && source !== null) return { provider: memoryProvider(source as ModelFiles) };
  throw new UsageError(
    'INVALID_ARGUMENT',
    `Emotion2Vec.load: unsupported model source ${describeValue(source)}; pass a folder path, a URL, or { 'config.yaml': ..., 'model.pt': ..., 'tokens.txt': ... }.`,
  );
}

async function localProvider(path: string): Promise<{ provider: FileProvider; preferredFile?: string }> {
  const platform = getPlatform();
  if (!platform.readFile || !platform.isDirectory || !platform.listDirectory) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Cannot open the path ${quote(path)}: file paths need Node. In a browser, pass a URL or the model files.`,
    );
  }
  const { readFile, openFile, isDirectory, listDirectory } = platform;
  const directoryOf = async (dir: string): Promise<FileProvider> => ({
    location: dir,
    list: () => listDirectory(dir),
    read: (name, maxBytes) => localFile(dir, name, () => readFile(joinPath(dir, name), { maxBytes })),
    ...(openFile
      ? {
          open: async (name: string, maxBytes: number) => {
            const file = await localFile(dir, name, () => openFile(joinPath(dir, name), { maxBytes }));
            return file && withTypedReads(file, dir, name);
          },
        }
      : {}),
  });
  const kind = await isDirectory(path).catch(() => null);
  if (kind === true) return { provider: await directoryOf(path) };
  if (kind === false) {
    const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
    const dir = slash >= 0 ? path.slice(0, slash) || '/' : '.';
    return { provider: await directoryOf(dir), preferredFile: path.slice(slash + 1) };
  }
  if (path.includes('\uFFFD')) {
    throw new CheckpointError(
      'FILE_NAME_ENCODING',
      `Model not found: ${quote(path)} has a name that is not valid UTF-8 (the bytes shown as \uFFFD) and cannot be opened through a JavaScript string. Rename it to a UTF-8 name.`,
    );
  }
  throw new CheckpointError(
    'MODEL_NOT_FOUND',
    `Model not found: ${quote(path)} is neither a folder nor a file. Pass the folder that holds config.yaml + model.pt + tokens.txt, or a converted model folder.`,
  );
}

/**
 * A local model file read or opened by `access`: absent is null, refusals and read errors are typed and name the file.
 */
async function localFile<T>(dir: string, name: string, access: () => Promise<T>): Promise<T | null> {
  try {
    return await access();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw readFailure(error, dir, name);
  }
}

/** An opened local file whose later reads fail with the same typed errors as opening it. */
function withTypedReads(file: RandomAccess, dir: string, name: string): RandomAccess {
  return {
    size: file.size,
    readInto: (position, target) => {
      try {
        return file.readInto(position, target);
      } catch (error) {
        throw readFailure(error, dir, name);
      }
    },
  };
}

function readFailure(error: unknown, dir: string, name: string): Error {
  if (error instanceof FileRefusal) return refusal(error, name);
  if (isEmotion2VecError(error)) return error;
  const code = (error as { code?: string }).code;
  // EACCES, EISDIR, EIO, a file deleted half-way...: say which model file could not be read, not just the errno.
  return new CheckpointError(
    'MODEL_NOT_FOUND',
    `Could not read ${name} in ${dir}: ${quote((error as Error)?.message ?? String(error), 300)}. Check that the file is readable.`,
    {
      cause: error,
      details: { file: name, code },
    },
  );
}

function urlProvider(
  url: string,
  fetchImpl: typeof fetch | undefined,
): { provider: FileProvider; preferredFile?: string } {
  if (!fetchImpl)
    throw new UsageError(
      'INVALID_ARGUMENT',
      'Loading a model from a URL needs fetch (Node >= 18 or a browser), or pass options.fetch.',
    );
  const parsed = new URL(url);
  const lastSegment = parsed.pathname.split('/').pop() ?? '';
  const isFile = /\.(json|pt|pth|safetensors)$/i.test(lastSegment);
  const base = new URL(isFile ? '.' : parsed.pathname.endsWith('/') ? parsed.href : `${parsed.href}/`, parsed);
  const refused = new Map<string, number>();
  const provider: FileProvider = {
    location: base.href,
    list: async () => null,
    absenceNote: (name) => {
      const status = refused.get(name);
      return status === undefined
        ? undefined
        : `the server answered HTTP ${status} for it (S3-style hosts also answer 403 for files that do not exist; a private model needs credentials, e.g. a fetch with an Authorization header in options.fetch)`;
    },
    read: async (name, maxBytes) => {
      const target = new URL(name, base);
      let response: Response;
      try {
        response = await fetchImpl(target);
      } catch (error) {
        throw new CheckpointError('MODEL_NOT_FOUND', `Could not download ${target.href}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (response.status === 404) return null;
      // Probes for optional files (model.json, model.safetensors...) must fall through where a bucket answers
      // 401/403 for missing keys; if the file was needed, notFound says what the server answered.
      if (response.status === 401 || response.status === 403) {
        refused.set(name, response.status);
        return null;
      }
      if (!response.ok)
        throw new CheckpointError(
          'MODEL_NOT_FOUND',
          `Could not download ${target.href}: HTTP ${response.status} ${quote(response.statusText, 80)}`,
        );
      return readBounded(response, target.href, name, maxBytes);
    },
  };
  return isFile ? { provider, preferredFile: lastSegment } : { provider };
}

function memoryProvider(files: ModelFiles): FileProvider {
  const byName = new Map(Object.entries(files).map(([name, data]) => [baseName(name), data] as const));
  return {
    location: 'in-memory files',
    list: async () => [...byName.keys()],
    read: async (name, maxBytes) => {
      const data = byName.get(name);
      if (data === undefined) return null;
      const size =
        typeof data === 'string'
          ? data.length
          : data instanceof Uint8Array || data instanceof ArrayBuffer
            ? data.byteLength
            : typeof Blob !== 'undefined' && data instanceof Blob
              ? data.size
              : 0;
      if (size > maxBytes)
        throw refusal(
          new FileRefusal(
            'FILE_TOO_LARGE',
            `${name} is ${size} bytes, more than the ${maxBytes} bytes a file of this kind may have.`,
            { size, maxBytes },
          ),
          name,
        );
      return toBytes(data);
    },
  };
}

async function toBytes(data: ModelFileData): Promise<Uint8Array> {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (typeof Blob !== 'undefined' && data instanceof Blob) return new Uint8Array(await data.arrayBuffer());
  throw new UsageError(
    'INVALID_ARGUMENT',
    `Model file contents must be a Uint8Array, ArrayBuffer, Blob or string; got ${describeValue(data)}.`,
  );
}

/** A response body read with a byte bound: refused by Content-Length when it says so, else while streaming. */
async function readBounded(response: Response, href: string, name: string, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    refusal(
      new FileRefusal(
        'FILE_TOO_LARGE',
        `${href} is ${size} bytes, more than the ${maxBytes} bytes a file of this kind may have.`,
        { maxBytes },
      ),
      name,
    );
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) throw tooLarge(String(declared));
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw tooLarge(`more than ${maxBytes}`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/** A platform's refusal as the typed error of the model file it concerns. */
function refusal(error: FileRefusal, name: string): ConfigError | CheckpointError {
  const Kind = name === CONFIG_FILE || name === TOKENS_FILE ? ConfigError : CheckpointError;
  return new Kind(error.code, `${error.message} (${name} of the model)`, {
    cause: error,
    details: { ...error.details, file: name },
  });
}

function notFound(provider: FileProvider, name: string, why?: string): CheckpointError {
  const note = provider.absenceNote?.(name);
  return new CheckpointError(
    'MODEL_NOT_FOUND',
    `${name} not found in ${provider.location}${why ? `: ${why}` : ''}${note ? `; ${note}` : ''}.`,
  );
}

function localPathOf(url: URL): string {
  const toPath = getPlatform().pathFromFileUrl;
  if (!toPath)
    throw new UsageError(
      'INVALID_ARGUMENT',
      `Cannot open ${url.href}: file: URLs name local files, which need Node. In a browser, pass an http(s) URL or the model files.`,
    );
  return toPath(url);
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith('/') || dir.endsWith('\\') ? `${dir}${name}` : `${dir}/${name}`;
}

function baseName(name: string): string {
  return name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
}
