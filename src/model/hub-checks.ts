/**
 * What a hub model's files must be before they are kept, whichever runtime caches them (Node's disk cache,
 * hub-cache.ts; a browser's Cache API, hub-source.ts): config.yaml and tokens.txt parse as the model reads them, a
 * weights file starts like a checkpoint, and a model listed in weights/known-models.json has the shape listed there
 * (embedding width, depth, number of labels). So a page of HTML served as config.yaml, or a mirror serving another
 * model under a known id, is refused with a clear error instead of being kept and failing every later load.
 */
import { CheckpointError, isEmotion2VecError, quote } from '../errors.js';
import { hexHead, sniffNonAudio } from '../io/sniff.js';
import { mirrorHint, type HubModel } from '../hub/models.js';
import { looksLikeSafetensors } from './checkpoint/safetensors.js';
import { configFromModelConf, parseConfigYaml, parseTokens, type Emotion2VecConfig } from './config.js';

/** Bytes of a weights file's start that {@link checkHubFile} looks at (the whole file is checked when converted). */
export const WEIGHTS_HEAD_BYTES = 64;

/**
 * Checks one file of `model`: config.yaml and tokens.txt whole, a weights file by its first WEIGHTS_HEAD_BYTES
 * bytes (more are ignored).
 *
 * @throws ConfigError `CONFIG_INVALID` (config.yaml or tokens.txt the model cannot read), CheckpointError
 *   `CHECKPOINT_FORMAT` (a weights file that is not a checkpoint), `MODEL_INTEGRITY` (another model than the id's)
 */
export function checkHubFile(model: HubModel, file: string, bytes: Uint8Array): void {
  if (file === 'config.yaml') {
    const { config } = parseConfigYaml(new TextDecoder().decode(bytes));
    checkShape(model, config, `its ${file}`);
  } else if (file === 'tokens.txt') {
    const labels = parseTokens(new TextDecoder().decode(bytes)).length;
    const expected = model.expected?.labels ?? 0;
    if (expected > 0 && labels !== expected)
      throw mismatch(model, `its tokens.txt lists ${labels} labels, not ${expected}`);
  } else if (!looksLikeCheckpoint(bytes)) {
    const seen = sniffNonAudio(bytes);
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${file} of ${model.repo} is not a checkpoint: it starts like a ${seen.format === 'unknown' ? `file of unknown kind (${hexHead(bytes)})` : seen.label}, not a torch zip or safetensors file. The server did not send the model's file. ${mirrorHint(model)}`,
    );
  }
}

/** Checks a converted model's `model_conf` (from its model.json) against the known model's shape. */
export function checkConvertedShape(model: HubModel, modelConf: Record<string, unknown>, where: string): void {
  checkShape(model, configFromModelConf(modelConf), where);
}

/**
 * `error` from a file that was already in the cache, said so, with the file to delete: the cache never fixes itself
 * by deleting a file it did not put there. Errors that are not the library's pass through unchanged.
 */
export function inCachedFile(error: unknown, path: string, folder: string): unknown {
  if (!isEmotion2VecError(error)) return error;
  const Kind = error.constructor as new (...args: ConstructorParameters<typeof CheckpointError>) => CheckpointError;
  return new Kind(
    error.code,
    `${error.message} It is the cached file ${quote(path, 300)}: delete it (or the folder ${quote(folder, 300)}) and load again online to fetch the model anew.`,
    { cause: error, details: { ...error.details, cachedFile: path } },
  );
}

function checkShape(model: HubModel, config: Emotion2VecConfig, what: string): void {
  const expected = model.expected;
  if (!expected) return;
  if (config.embedDim !== expected.embeddingDim || config.depth !== expected.depth)
    throw mismatch(
      model,
      `${what} declares embed_dim ${config.embedDim} and depth ${config.depth}, not the ${expected.embeddingDim} and ${expected.depth} of the published model`,
    );
}

function mismatch(model: HubModel, what: string): CheckpointError {
  return new CheckpointError(
    'MODEL_INTEGRITY',
    `${model.repo} from ${model.hub} is not the model this id names: ${what} (weights/known-models.json). The server (or mirror) serves another model under this id; nothing of it was kept. ${mirrorHint(model)}`,
    { details: { repo: model.repo, hub: model.hub } },
  );
}

/** A torch zip (`PK\x03\x04`), a safetensors header, or a legacy torch pickle (refused later, with its own advice). */
function looksLikeCheckpoint(bytes: Uint8Array): boolean {
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  return zip || looksLikeSafetensors(bytes) || bytes[0] === 0x80;
}
