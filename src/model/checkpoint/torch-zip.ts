/**
 * PyTorch's checkpoint format (torch.save since 1.6): a zip archive `<name>/data.pkl` (the pickled object
 * graph) plus one raw little-endian file per storage, `<name>/data/<key>`. Pure TypeScript, so the same code
 * reads model.pt in Node and in browsers. Storages are extracted only when a tensor is read, one at a time, and
 * only as many bytes as the tensor reaches (src/io/zip.ts), so no entry can inflate beyond what it needs.
 */
import { CheckpointError, quote } from '../../errors.js';
import { DTYPE_BYTES, toFloat32 } from '../../io/bytes.js';
import { readStoredEntryInto, readZipEntry, readZipIndex, ZipError, type ZipEntry } from '../../io/zip.js';
import { HOST_IS_LITTLE_ENDIAN } from '../../io/bytes.js';
import { memoryAccess, type RandomAccess } from '../../io/random-access.js';
import { MAX_TENSOR_RANK } from '../limits.js';
import type { CheckpointContents, TensorEntry } from '../state-dict.js';
import { TensorRef, unpickleTorch } from './pickle.js';
import { findStateDict, stripDataParallelPrefix } from './unwrap.js';

/** Whether the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * data.pkl takes about 120 bytes per tensor (tiny's 83 tensors: 10 KB; the large model's 339: ~40 KB), so even a
 * checkpoint with optimizer state stays far below this. The bound is also what bounds the unpickler's work: the
 * worst 2 MiB (a million-deep nest of lists) costs about 2 s of CPU and 200 MiB.
 */
export const MAX_PICKLE_BYTES = 2 * 1024 * 1024;

/**
 * Reads a torch zip checkpoint, in memory or opened by position (a local file: then only the pickle and the
 * tensors are read, each tensor's bytes straight into its own buffer). Never executes anything from the file.
 */
export function readTorchZip(archive: Uint8Array | RandomAccess, fileName: string): CheckpointContents {
  const bytes = archive instanceof Uint8Array ? memoryAccess(archive) : archive;
  const entries = zipIndex(bytes, fileName);
  const names = [...entries.keys()];
  const pickleName = names.find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} is a zip file but not a PyTorch checkpoint: it has no <name>/data.pkl entry.`,
    );
  }
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  if (names.includes(`${prefix}constants.pkl`) || names.some((name) => name.startsWith(`${prefix}code/`))) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} is a TorchScript archive (torch.jit.save), which holds a program rather than a state dict. ` +
        'Save the weights with torch.save(model.state_dict(), "model.pt") and load that.',
    );
  }
  const byteOrderEntry = entries.get(`${prefix}byteorder`);
  const byteOrder = byteOrderEntry
    ? new TextDecoder().decode(entryBytes(bytes, fileName, byteOrderEntry, Math.min(byteOrderEntry.size, 16))).trim()
    : 'little';
  const littleEndian = byteOrder !== 'big';

  const pickleEntry = entries.get(pickleName)!;
  if (pickleEntry.size > MAX_PICKLE_BYTES) {
    throw new CheckpointError(
      'CHECKPOINT_LIMIT',
      `${fileName}: its ${pickleName} declares ${pickleEntry.size} bytes; a state dict's pickle is far smaller (at most ${MAX_PICKLE_BYTES} are read).`,
    );
  }
  let root: unknown;
  try {
    root = unpickleTorch(entryBytes(bytes, fileName, pickleEntry, pickleEntry.size));
  } catch (error) {
    if (error instanceof CheckpointError) throw error;
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `Cannot read the pickled contents of ${fileName}: ${quote((error as Error)?.message ?? String(error), 300)}. The file may be damaged; download it again.`,
      {
        cause: error,
      },
    );
  }

  const notes: string[] = [];
  const refs = stripDataParallelPrefix(
    findStateDict(root, (value): value is TensorRef => value instanceof TensorRef, notes),
    notes,
  );
  const tensors = new Map<string, TensorEntry>();
  for (const [name, ref] of refs) {
    tensors.set(name, {
      shape: ref.shape,
      dtype: ref.storage.dtype ?? 'float32',
      read: () => readTensor(bytes, fileName, entries, `${prefix}data/${ref.storage.key}`, name, ref, littleEndian),
      readInto: (target) =>
        readTensorInto(bytes, fileName, entries, `${prefix}data/${ref.storage.key}`, name, ref, littleEndian, target),
    });
  }
  return { tensors, format: 'torch-zip', notes };
}

function zipIndex(bytes: RandomAccess, fileName: string): Map<string, ZipEntry> {
  try {
    return readZipIndex(bytes);
  } catch (error) {
    throw zipFailure(error, fileName);
  }
}

/** The first `wanted` bytes of an entry (inflating no more than that). */
function entryBytes(bytes: RandomAccess, fileName: string, entry: ZipEntry, wanted: number): Uint8Array {
  try {
    return readZipEntry(bytes, entry, wanted);
  } catch (error) {
    throw zipFailure(error, fileName);
  }
}

function zipFailure(error: unknown, fileName: string): CheckpointError {
  const reason = error instanceof ZipError ? error.reason : 'damaged';
  const message = quote((error as Error)?.message ?? String(error), 300);
  if (reason === 'unsupported') {
    return new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} is a zip archive this reader cannot open: ${message}. Save the checkpoint again with torch.save.`,
      { cause: error },
    );
  }
  return new CheckpointError(
    'CHECKPOINT_TRUNCATED',
    `${fileName} starts like a zip archive but cannot be read (${message}): the file is truncated or damaged, most often an interrupted download. Download it again.`,
    { cause: error },
  );
}

/** The storage entry of a tensor and the elements its view needs, checked before a byte of it is read. */
function tensorStorage(
  fileName: string,
  entries: Map<string, ZipEntry>,
  entryName: string,
  name: string,
  ref: TensorRef,
) {
  const { storage } = ref;
  if (storage.dtype === null) {
    throw new CheckpointError(
      'CHECKPOINT_DTYPE',
      `Tensor ${quote(name)} in ${fileName} is stored as torch.${quote(storage.typeName, 60)}, which cannot be read as float32. Convert it with tensor.float() before saving.`,
    );
  }
  const dtype = storage.dtype;
  const elementBytes = DTYPE_BYTES[dtype];
  const { count, lastElement } = viewExtent(ref, name, fileName);
  const storageBytes = storage.numel * elementBytes;
  const entry = entries.get(entryName);
  if (!entry) {
    throw new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `Tensor ${quote(name)} in ${fileName}: its storage ${quote(entryName)} is missing. The file is damaged; download it again.`,
    );
  }
  // torch writes each storage as exactly numel elements: an entry that claims more is not a storage (a bomb).
  if (entry.size > storageBytes) {
    throw new CheckpointError(
      'CHECKPOINT_LIMIT',
      `Tensor ${quote(name)} in ${fileName}: its storage ${quote(entryName)} declares ${entry.size} bytes but holds ${storage.numel} ${dtype} elements (${storageBytes} bytes). The file is not a genuine checkpoint.`,
    );
  }
  // Only the elements the view reaches are extracted, however large the storage claims to be.
  const neededElements = count === 0 ? 0 : lastElement + 1;
  if (neededElements > storage.numel) {
    throw new CheckpointError(
      'CHECKPOINT_LIMIT',
      `Tensor ${quote(name)} in ${fileName} reaches element ${lastElement} of a storage of ${storage.numel} elements: the file is inconsistent.`,
    );
  }
  return { entry, dtype, elementBytes, count, neededElements };
}

function readFailure(error: unknown, name: string, fileName: string): CheckpointError {
  if (error instanceof CheckpointError) return error;
  if (error instanceof ZipError && error.reason === 'short') {
    return new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `Tensor ${quote(name)} in ${fileName}: ${quote(error.message, 300)}. The file is damaged; download it again.`,
      { cause: error },
    );
  }
  return zipFailure(error, fileName);
}

function readTensor(
  bytes: RandomAccess,
  fileName: string,
  entries: Map<string, ZipEntry>,
  entryName: string,
  name: string,
  ref: TensorRef,
  littleEndian: boolean,
): Float32Array {
  const { entry, dtype, elementBytes, count, neededElements } = tensorStorage(fileName, entries, entryName, name, ref);
  let raw: Uint8Array;
  try {
    raw = readZipEntry(bytes, entry, neededElements * elementBytes);
  } catch (error) {
    throw readFailure(error, name, fileName);
  }
  const values = toFloat32(raw, dtype, neededElements, littleEndian);
  return strided(values, ref, count);
}

/**
 * The tensor's values written into `target`. The common case (float32, contiguous, stored uncompressed, as
 * torch.save writes model weights) is one read from the archive straight into the target: no copy of the entry,
 * no conversion copy. Anything else goes through readTensor.
 */
function readTensorInto(
  bytes: RandomAccess,
  fileName: string,
  entries: Map<string, ZipEntry>,
  entryName: string,
  name: string,
  ref: TensorRef,
  littleEndian: boolean,
  target: Float32Array,
): void {
  const { entry, dtype, count } = tensorStorage(fileName, entries, entryName, name, ref);
  if (dtype === 'float32' && littleEndian === HOST_IS_LITTLE_ENDIAN && isContiguous(ref) && count === target.length) {
    try {
      if (
        readStoredEntryInto(bytes, entry, ref.offset * 4, new Uint8Array(target.buffer, target.byteOffset, count * 4))
      )
        return;
    } catch (error) {
      throw readFailure(error, name, fileName);
    }
  }
  target.set(readTensor(bytes, fileName, entries, entryName, name, ref, littleEndian));
}

/**
 * The element count of a view and the highest storage element it reaches, checked before anything is read: every
 * element the view addresses must lie inside [0, numel) of its storage, whatever the signs of its strides.
 */
function viewExtent(ref: TensorRef, name: string, fileName: string): { count: number; lastElement: number } {
  const { shape, stride, offset } = ref;
  const fail = (what: string): never => {
    throw new CheckpointError(
      'CHECKPOINT_LIMIT',
      `Tensor ${quote(name)} in ${fileName} ${what}: the file is inconsistent or hostile.`,
    );
  };
  if (stride.length !== shape.length) fail(`has ${shape.length} dimensions but ${stride.length} strides`);
  if (shape.length > MAX_TENSOR_RANK) fail(`has ${shape.length} dimensions (at most ${MAX_TENSOR_RANK})`);
  if (shape.some((size) => size < 0)) fail('has a negative size');
  // PyTorch has no negative strides (torch.flip copies), so a file with one was not written by torch.save.
  if (stride.some((step) => step < 0)) fail(`has a negative stride (${stride.join(', ')}); PyTorch never saves one`);
  if (offset < 0) fail(`starts at element ${offset} of its storage`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(count)) fail('has more elements than can be counted');
  if (count === 0) return { count, lastElement: offset };
  let first = offset;
  let last = offset;
  for (const [d, size] of shape.entries()) {
    const span = (size - 1) * stride[d]!;
    if (span < 0) first += span;
    else last += span;
  }
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) fail('has strides beyond any storage');
  if (first < 0) fail(`reaches element ${first} (before the start of its storage) through a negative stride`);
  if (last >= ref.storage.numel) fail(`reaches element ${last} of a storage of ${ref.storage.numel}`);
  return { count, lastElement: last };
}

/** Whether the view's elements lie in row-major order one after another in its storage. */
function isContiguous({ shape, stride }: TensorRef): boolean {
  for (let d = shape.length - 1, expected = 1; d >= 0; expected *= shape[d]!, d--) {
    if (shape[d]! > 1 && stride[d] !== expected) return false;
  }
  return true;
}

/** The tensor's elements in row-major order, following its offset and strides into the (bounds-checked) storage. */
function strided(values: Float32Array, ref: TensorRef, count: number): Float32Array {
  const { shape, stride, offset } = ref;
  if (isContiguous(ref)) return values.subarray(offset, offset + count);

  // A view saved as is (a transpose, a slice): walk its index space like an odometer.
  const out = new Float32Array(count);
  const index = new Array<number>(shape.length).fill(0);
  let source = offset;
  for (let i = 0; i < count; i++) {
    out[i] = values[source]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      source += stride[d]!;
      if (index[d]! < shape[d]!) break;
      source -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}
