/**
 * Finds the model's state dict inside whatever a training script saved: the dict itself, or a dict that
 * holds it under `state_dict`, `model_state_dict` or `model` beside optimizer state, epochs and configs.
 */
import { CheckpointError, describeValue } from '../../errors.js';

/** Keys under which training frameworks nest the model weights, tried in this order. */
export const STATE_DICT_WRAPPERS = ['state_dict', 'model_state_dict', 'model'] as const;

/** The prefix DataParallel / DistributedDataParallel put on every key. */
const DATA_PARALLEL_PREFIX = 'module.';

/** Nesting deeper than this is not a layout anyone saves; stop rather than search a whole object graph. */
const MAX_DEPTH = 3;

/**
 * Returns the map of tensors of the state dict in `root`, with notes on what was unwrapped and ignored.
 * `isTensor` tells tensors from the other pickled values.
 */
export function findStateDict<T>(
  root: unknown,
  isTensor: (value: unknown) => value is T,
  notes: string[],
  depth = 0,
): Map<string, T> {
  if (!(root instanceof Map)) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `The checkpoint holds ${describe(root)}, not a dict of tensors. Save the model with torch.save(model.state_dict(), path).`,
    );
  }
  const tensors = new Map<string, T>();
  const others: string[] = [];
  for (const [key, value] of root) {
    if (typeof key === 'string' && isTensor(value)) tensors.set(key, value);
    else others.push(describeKey(key));
  }
  if (tensors.size > 0) {
    if (others.length > 0)
      notes.push(
        `ignored ${others.length} non-tensor entr${others.length === 1 ? 'y' : 'ies'} beside the tensors: ${quoteList(others)}`,
      );
    return tensors;
  }
  const wrapper = STATE_DICT_WRAPPERS.find((key) => root.get(key) instanceof Map);
  if (wrapper && depth < MAX_DEPTH) {
    notes.push(`unwrapped '${wrapper}'`);
    const rest = others.filter((key) => key !== wrapper);
    if (rest.length > 0)
      notes.push(`ignored ${rest.length} other top-level entr${rest.length === 1 ? 'y' : 'ies'}: ${quoteList(rest)}`);
    return findStateDict(root.get(wrapper), isTensor, notes, depth + 1);
  }
  throw new CheckpointError(
    'CHECKPOINT_FORMAT',
    `No tensors found in the checkpoint: its dict has ${others.length ? `the keys ${quoteList(others)}` : 'no keys'} and none of ${quoteList([...STATE_DICT_WRAPPERS])} holds a state dict. ` +
      'Save the model with torch.save(model.state_dict(), path).',
  );
}

/** Removes the `module.` prefix when every name carries it (a model saved while wrapped in DataParallel). */
export function stripDataParallelPrefix<T>(tensors: Map<string, T>, notes: string[]): Map<string, T> {
  const names = [...tensors.keys()];
  if (names.length === 0 || !names.every((name) => name.startsWith(DATA_PARALLEL_PREFIX))) return tensors;
  notes.push(`removed the '${DATA_PARALLEL_PREFIX}' prefix from ${names.length} tensor names`);
  return new Map([...tensors].map(([name, value]) => [name.slice(DATA_PARALLEL_PREFIX.length), value]));
}

/**
 * A dict key for messages. Never String(key): a pickle can make a key a tuple graph that shares its halves 40
 * levels deep, whose string form doubles with each level (2^40 characters).
 */
function describeKey(key: unknown): string {
  return typeof key === 'string' ? key.slice(0, 100) : `<${describeValue(key)}>`;
}

function quoteList(keys: string[], max = 8): string {
  // JSON escaping without the double quotes: control characters from the file are shown, never obeyed.
  const shown = keys.slice(0, max).map((key) => `'${JSON.stringify(key.slice(0, 100)).slice(1, -1)}'`);
  return keys.length > max ? `${shown.join(', ')} and ${keys.length - max} more` : shown.join(', ');
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} items`;
  const pythonName = (value as { __module__?: string; __name__?: string }).__name__;
  if (typeof pythonName === 'string')
    return `a ${String((value as { __module__?: unknown }).__module__).slice(0, 100)}.${pythonName.slice(0, 100)} object`;
  return `a ${typeof value}`;
}
