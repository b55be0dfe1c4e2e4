/**
 * Models by name: which ids are hub ids, which files a model has, and where each file lives on Hugging Face or
 * ModelScope. Isomorphic (no Node module): the Node disk cache and the browser Cache API both build on it.
 */
import knownModels from '../../weights/known-models.json';
import { CheckpointError, UsageError } from '../errors.js';

/** The model hubs a name can be fetched from. FunASR's `hub=` names them 'hf' and 'ms'; both spellings work. */
export type HubName = 'huggingface' | 'modelscope';

/** A model on a hub: its repository and the files to fetch. */
export interface HubModel {
  readonly hub: HubName;
  /** Repository id on that hub (`emotion2vec/emotion2vec_plus_large`, `iic/emotion2vec_plus_large`). */
  readonly repo: string;
  /** Files that must all be downloaded. */
  readonly files: readonly string[];
  /** Files fetched when present (a 404 is fine). */
  readonly optionalFiles: readonly string[];
  /** Exact sizes in bytes on this hub, where known. */
  readonly sizes: Readonly<Record<string, number>>;
  /** sha256 (hex) on this hub, where known. */
  readonly sha256: Readonly<Record<string, string>>;
  /** Whether weights/known-models.json lists it. */
  readonly known: boolean;
  /**
   * What the known model's config.yaml declares and how many labels its tokens.txt lists (0: none expected): a
   * download or a cached file that says otherwise is another model, refused.
   */
  readonly expected?: KnownModelShape;
}

/** The shape of a known model, as its published config.yaml and tokens.txt give it. */
export interface KnownModelShape {
  readonly embeddingDim: number;
  /** `model_conf.depth`: the main transformer blocks. */
  readonly depth: number;
  readonly labels: number;
}

interface PinnedFile {
  readonly size?: number;
  readonly sha256?: string;
}

/** Where the hubs are; the defaults are the public hubs, each overridable by an environment variable. */
export interface HubEndpoints {
  /** `HF_ENDPOINT`, default https://huggingface.co. */
  readonly huggingface?: string;
  /** `MODELSCOPE_ENDPOINT`, default https://www.modelscope.cn. */
  readonly modelscope?: string;
}

export const DEFAULT_ENDPOINTS: Required<HubEndpoints> = {
  huggingface: 'https://huggingface.co',
  modelscope: 'https://www.modelscope.cn',
};

/** The CLI's default: the seed's model. `emotion2vec/emotion2vec_plus_base` is the faster choice. */
export const DEFAULT_MODEL_ID = 'emotion2vec/emotion2vec_plus_large';

/** The files of an emotion2vec checkpoint when the id is not in known-models.json. */
const DEFAULT_FILES = ['config.yaml', 'model.pt'];
const DEFAULT_OPTIONAL_FILES = ['tokens.txt'];

/** `owner/name` with the characters hub ids use; never `..` (it becomes part of cache paths and URLs). */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}\/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$/;

/**
 * Whether `source` has the shape of a hub id (`owner/name`). A local folder of that name still wins (checked by the
 * loader).
 */
export function looksLikeHubId(source: string): boolean {
  return REPO_ID.test(source) && !source.includes('..');
}

/** 'huggingface' | 'modelscope' from user spellings ('hf', 'ms', any case); a typed error for anything else. */
export function parseHubName(value: string | undefined): HubName | undefined {
  if (value === undefined || value === '') return undefined;
  const lower = value.toLowerCase();
  if (lower === 'huggingface' || lower === 'hf') return 'huggingface';
  if (lower === 'modelscope' || lower === 'ms') return 'modelscope';
  throw new UsageError(
    'INVALID_ARGUMENT',
    `Unknown model hub ${JSON.stringify(value.slice(0, 40))}: use 'huggingface' (or 'hf') or 'modelscope' (or 'ms').`,
  );
}

/**
 * The hub model for an id. `iic/...` ids are ModelScope's and `emotion2vec/...` Hugging Face's; `hub` switches a
 * known model to the other hub's repository. An unknown `owner/name` is fetched from the chosen hub (default
 * Hugging Face) with the standard checkpoint files.
 */
export function resolveHubModel(id: string, hub?: HubName): HubModel {
  if (!looksLikeHubId(id)) {
    throw new CheckpointError(
      'MODEL_UNKNOWN',
      `${JSON.stringify(id.slice(0, 120))} is not a model id (owner/name, e.g. ${DEFAULT_MODEL_ID}) nor an existing folder.`,
    );
  }
  const entry = knownModels.models.find(
    (m) => m.huggingface.toLowerCase() === id.toLowerCase() || m.modelscope.toLowerCase() === id.toLowerCase(),
  );
  const idHub: HubName =
    entry && entry.modelscope.toLowerCase() === id.toLowerCase()
      ? 'modelscope'
      : id.toLowerCase().startsWith('iic/')
        ? 'modelscope'
        : 'huggingface';
  const chosen = hub ?? idHub;
  if (!entry) {
    return {
      hub: chosen,
      repo: id,
      files: DEFAULT_FILES,
      optionalFiles: DEFAULT_OPTIONAL_FILES,
      sizes: {},
      sha256: {},
      known: false,
    };
  }
  const pinned = Object.entries((entry.pinned as Record<HubName, Record<string, PinnedFile>>)[chosen] ?? {});
  return {
    hub: chosen,
    repo: chosen === 'modelscope' ? entry.modelscope : entry.huggingface,
    files: entry.files,
    optionalFiles: entry.optionalFiles,
    sizes: Object.fromEntries(pinned.flatMap(([file, pin]) => (pin.size === undefined ? [] : [[file, pin.size]]))),
    sha256: Object.fromEntries(pinned.flatMap(([file, pin]) => (pin.sha256 === undefined ? [] : [[file, pin.sha256]]))),
    known: true,
    expected: entry.expected,
  };
}

/**
 * The cache folder name of a repository id, distinct for distinct ids: `owner--name` as before when neither part
 * holds `--` (every published id; Hugging Face refuses `--` in ids), else `_/owner/name`, apart from those (a plain
 * name never starts with `_`). So `a--b/c` and `a/b--c` no longer share a folder, and existing caches stay where
 * they are.
 */
export function repoFolderName(repo: string): string[] {
  const [owner, name] = repo.split('/') as [string, string];
  return owner.includes('--') || name.includes('--') ? ['_', owner, name] : [`${owner}--${name}`];
}

/** How to reach a mirror, for every message about a failed download. */
export function mirrorHint(model: Pick<HubModel, 'hub'>): string {
  const other = model.hub === 'huggingface' ? 'modelscope' : 'huggingface';
  return `To use a mirror, set HF_ENDPOINT (Hugging Face) or MODELSCOPE_ENDPOINT to its address; to fetch from the other hub, pass --hub ${other} (hub: '${other}' in code).`;
}

/** The endpoints from the options, else `HF_ENDPOINT` / `MODELSCOPE_ENDPOINT`, else the public hubs. */
export function hubEndpoints(overrides: HubEndpoints = {}): Required<HubEndpoints> {
  const env = typeof process !== 'undefined' ? process.env : {};
  return {
    huggingface: trimSlash(overrides.huggingface ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINTS.huggingface),
    modelscope: trimSlash(overrides.modelscope ?? env.MODELSCOPE_ENDPOINT ?? DEFAULT_ENDPOINTS.modelscope),
  };
}

/**
 * The download URL of one file: Hugging Face `<endpoint>/<repo>/resolve/main/<file>`, ModelScope
 * `<endpoint>/api/v1/models/<repo>/repo?Revision=master&FilePath=<file>` (its public file API).
 */
export function hubFileUrl(model: Pick<HubModel, 'hub' | 'repo'>, file: string, endpoints: HubEndpoints = {}): string {
  const base = hubEndpoints(endpoints);
  if (model.hub === 'modelscope')
    return `${base.modelscope}/api/v1/models/${model.repo}/repo?Revision=master&FilePath=${encodeURIComponent(file)}`;
  return `${base.huggingface}/${model.repo}/resolve/main/${encodeURIComponent(file)}`;
}

/** Every file of a model, required first. */
export function allFiles(model: HubModel): string[] {
  return [...model.files, ...model.optionalFiles];
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
