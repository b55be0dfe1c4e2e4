/**
 * PyTorch's checkpoint format (torch.save since 1.6): a zip archive `<name>/data.pkl` (the pickled object
 * graph) plus one raw little-endian file per storage, `<name>/data/<key>`. Pure TypeScript, so the same code
 * reads model.pt in Node and in browsers. Storages are extracted only when a tensor is read, one at a time.
 */
import { unzipSync, type UnzipFileInfo } from 'fflate';
import { CheckpointError } from '../../errors.js';
import { DTYPE_BYTES, toFloat32 } from '../../io/bytes.js';
import type { CheckpointContents, TensorEntry } from '../state-dict.js';
import { TensorRef, unpickleTorch } from './pickle.js';
import { findStateDict, stripDataParallelPrefix } from './unwrap.js';

/** Whether the bytes start like a zip archive (a local file header). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Reads a torch zip checkpoint. Never executes anything from the file. */
export function readTorchZip(bytes: Uint8Array, fileName: string): CheckpointContents {
  const names: string[] = [];
  const small = unzipEntries(bytes, fileName, (file) => {
    names.push(file.name);
    return /^[^/]+\/(data\.pkl|byteorder)$/.test(file.name);
  });
  const pickleName = names.find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `${fileName} is a zip file but not a PyTorch checkpoint: it has no <name>/data.pkl entry.`);
  }
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  if (names.includes(`${prefix}constants.pkl`) || names.some((name) => name.startsWith(`${prefix}code/`))) {
    throw new CheckpointError(
      'CHECKPOINT_FORMAT',
      `${fileName} is a TorchScript archive (torch.jit.save), which holds a program rather than a state dict. ` +
        'Save the weights with torch.save(model.state_dict(), "model.pt") and load that.',
    );
  }
  const byteOrderBytes = small[`${prefix}byteorder`];
  const littleEndian = byteOrderBytes ? new TextDecoder().decode(byteOrderBytes).trim() !== 'big' : true;

  let root: unknown;
  try {
    root = unpickleTorch(small[pickleName]!);
  } catch (error) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `Cannot read the pickled contents of ${fileName}: ${(error as Error).message}. The file may be damaged; download it again.`, {
      cause: error,
    });
  }

  const notes: string[] = [];
  const refs = stripDataParallelPrefix(findStateDict(root, (value): value is TensorRef => value instanceof TensorRef, notes), notes);
  const tensors = new Map<string, TensorEntry>();
  for (const [name, ref] of refs) {
    tensors.set(name, {
      shape: ref.shape,
      dtype: ref.storage.dtype ?? 'float32',
      read: () => readTensor(bytes, fileName, `${prefix}data/${ref.storage.key}`, name, ref, littleEndian),
    });
  }
  return { tensors, format: 'torch-zip', notes };
}

function unzipEntries(bytes: Uint8Array, fileName: string, filter: (file: UnzipFileInfo) => boolean): Record<string, Uint8Array> {
  try {
    return unzipSync(bytes, { filter });
  } catch (error) {
    throw new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `${fileName} starts like a zip archive but cannot be read (${(error as Error).message}): the file is truncated or damaged, most often an interrupted download. Download it again.`,
      { cause: error },
    );
  }
}

function readTensor(bytes: Uint8Array, fileName: string, entry: string, name: string, ref: TensorRef, littleEndian: boolean): Float32Array {
  const { storage } = ref;
  if (storage.dtype === null) {
    throw new CheckpointError('CHECKPOINT_DTYPE', `Tensor ${name} in ${fileName} is stored as torch.${storage.typeName}, which cannot be read as float32. Convert it with tensor.float() before saving.`);
  }
  const raw = unzipEntries(bytes, fileName, (file) => file.name === entry)[entry];
  const needed = storage.numel * DTYPE_BYTES[storage.dtype];
  if (!raw || raw.length < needed) {
    throw new CheckpointError(
      'CHECKPOINT_TRUNCATED',
      `Tensor ${name} in ${fileName}: its storage ${entry} ${raw ? `holds ${raw.length} bytes, ${needed} expected` : 'is missing'}. The file is damaged; download it again.`,
    );
  }
  const values = toFloat32(raw, storage.dtype, storage.numel, littleEndian);
  return strided(values, ref, name, fileName);
}

/** The tensor's elements in row-major order, following its offset and strides into the storage. */
function strided(values: Float32Array, ref: TensorRef, name: string, fileName: string): Float32Array {
  const { shape, stride, offset } = ref;
  const count = shape.reduce((a, b) => a * b, 1);
  if (stride.length !== shape.length) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `Tensor ${name} in ${fileName} has ${shape.length} dimensions but ${stride.length} strides.`);
  }
  const last = count === 0 ? offset : shape.reduce((sum, size, d) => sum + (size - 1) * stride[d]!, offset);
  if (offset < 0 || last >= values.length + (count === 0 ? 1 : 0)) {
    throw new CheckpointError('CHECKPOINT_FORMAT', `Tensor ${name} in ${fileName} reaches element ${last} of a storage of ${values.length}: the file is inconsistent.`);
  }
  let contiguous = true;
  for (let d = shape.length - 1, expected = 1; d >= 0; expected *= shape[d]!, d--) {
    if (shape[d]! > 1 && stride[d] !== expected) contiguous = false;
  }
  if (contiguous) return values.subarray(offset, offset + count);

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
