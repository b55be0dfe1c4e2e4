/**
 * Unpickles the `data.pkl` of a torch zip checkpoint without executing anything from it.
 *
 * Pickle is a small stack machine whose GLOBAL opcode names Python callables. We let `pickleparser` run
 * the opcodes and answer every name ourselves: the handful that rebuild tensors and ordered dicts map to
 * plain data constructors below; every other name becomes an inert placeholder object. Storages are not
 * read here: a tensor is a reference (storage key, offset, size, stride) resolved later by the zip reader.
 */
import { NameRegistry, Parser } from 'pickleparser';
import { describeValue } from '../../errors.js';
import type { StoredDType } from '../../io/bytes.js';

/** A storage of the archive (`<prefix>/data/<key>`), as named by a persistent id. */
export interface StorageRef {
  readonly key: string;
  /** null when the pickle names a storage type we do not read (complex, quantized...). */
  readonly dtype: StoredDType | null;
  readonly typeName: string;
  readonly numel: number;
}

/** A tensor as torch pickles it: a strided window on a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    /** In elements. */
    readonly offset: number,
    readonly shape: readonly number[],
    /** In elements, one per dimension. */
    readonly stride: readonly number[],
  ) {}
}

/** torch.<Name>Storage -> element type. */
const STORAGE_TYPES: Record<string, StoredDType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/**
 * What a `torch.<X>Storage` global resolves to: pickle pushes it as a value into the persistent id, so it
 * only needs to carry its name. Calling it (which torch never pickles) yields an inert object.
 */
type StorageTypeMarker = (() => Record<string, never>) & { readonly storageTypeName: string };

function storageTypeMarker(name: string): StorageTypeMarker {
  return Object.assign(() => ({}), { storageTypeName: name });
}

function asIntegers(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) throw new Error(`malformed tensor ${what}`);
  return value as number[];
}

/** torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) and its older twin _rebuild_tensor. */
function rebuildTensor(
  storage: unknown,
  offset: unknown,
  size: unknown,
  stride: unknown,
): TensorRef | Record<string, never> {
  // Anything but a storage we know (e.g. a pickle naming a tensor subclass) stays inert.
  if (!isStorageRef(storage) || !Number.isInteger(offset)) return {};
  return new TensorRef(storage, offset as number, asIntegers(size, 'size'), asIntegers(stride, 'stride'));
}

function isStorageRef(value: unknown): value is StorageRef {
  return typeof value === 'object' && value !== null && 'key' in value && 'numel' in value && 'typeName' in value;
}

/** The resolver: known names build data, everything else falls back to pickleparser's inert objects. */
class TorchNames extends NameRegistry {
  constructor() {
    super();
    this.register('collections', 'OrderedDict', () => new Map());
    this.register('torch._utils', '_rebuild_tensor_v2', rebuildTensor);
    this.register('torch._utils', '_rebuild_tensor', rebuildTensor);
    // A Parameter is its data; requires_grad and hooks do not matter for inference.
    this.register('torch._utils', '_rebuild_parameter', (data: unknown) => data);
    this.register('torch._utils', '_rebuild_parameter_with_state', (data: unknown) => data);
  }

  override resolve(module: string, name: string) {
    const known = this._registry.get(NameRegistry.getFullyQualifiedName(module, name));
    if (known) return known;
    if (module === 'torch' && name.endsWith('Storage')) return storageTypeMarker(name);
    return this.onMissingName(module, name);
  }
}

function storageFromPersistentId(pid: unknown): StorageRef {
  // torch.save writes ('storage', storage_type, key, location, numel).
  // Described, never stringified: String() of a shared tuple graph doubles with every level.
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
    throw new Error(`unexpected persistent id (${describeValue(pid)})`);
  const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
  const typeName =
    typeof type === 'function' && 'storageTypeName' in type
      ? (type as StorageTypeMarker).storageTypeName
      : String(type);
  if (typeof key !== 'string' || !Number.isInteger(numel)) throw new Error('malformed storage persistent id');
  return { key, typeName, dtype: STORAGE_TYPES[typeName] ?? null, numel: numel as number };
}

/** Parses `data.pkl`. Dicts become Maps; tensors become TensorRefs; unknown objects are inert. */
export function unpickleTorch(bytes: Uint8Array): unknown {
  const parser = new Parser({
    nameResolver: new TorchNames(),
    persistentResolver: { resolve: storageFromPersistentId },
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'array',
  });
  return parser.parse(bytes);
}
