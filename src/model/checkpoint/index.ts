/**
 * Checkpoint files to tensors: recognises the container by its first bytes (not its name) and reads it.
 * Torch zip (`model.pt`) and `.safetensors` are read; the legacy torch format and anything else get an
 * error that says what the file is and how to get a readable one.
 */
import { CheckpointError } from '../../errors.js';
import { sniffFormat } from '../../audio/formats.js';
import { hexHead } from '../../io/sniff.js';
import type { CheckpointContents } from '../state-dict.js';
import { memoryAccess, readRange, type RandomAccess } from '../../io/random-access.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { looksLikeZip, readTorchZip } from './torch-zip.js';

/**
 * Reads a PyTorch zip checkpoint or a safetensors file; `fileName` is used in messages only. An opened file
 * (`RandomAccess`) is read by position: a torch zip's tensors then go straight from the file into their
 * buffers and the file is never held whole; safetensors files are read whole.
 */
export function readCheckpoint(file: Uint8Array | RandomAccess, fileName: string): CheckpointContents {
  const source = file instanceof Uint8Array ? memoryAccess(file) : file;
  if (source.size === 0)
    throw new CheckpointError('CHECKPOINT_TRUNCATED', `${fileName} is empty (0 bytes): download it again.`);
  const head = readRange(source, 0, 4096);
  if (looksLikeZip(head)) return readTorchZip(file, fileName);
  if (looksLikeSafetensors(head))
    return readSafetensors(file instanceof Uint8Array ? file : readRange(source, 0, source.size), fileName);
  const bytes = head;
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5) {
    // A bare pickle: torch.save before 1.6 (or with _use_new_zipfile_serialization=False).
    throw new CheckpointError(
      'CHECKPOINT_LEGACY_FORMAT',
      `${fileName} uses PyTorch's legacy (pre-1.6, non-zip) checkpoint format, which this library does not read. ` +
        // torch.load without weights_only runs whatever the pickle names: never recommend it for an untrusted file.
        'Re-save it with a current PyTorch, loading it safely: torch.save(torch.load(path, weights_only=True), path), or export .safetensors.',
    );
  }
  throw new CheckpointError(
    'CHECKPOINT_FORMAT',
    `${fileName} is not a PyTorch checkpoint or safetensors file (it starts with ${describeStart(bytes)}). ` +
      'Pass the model.pt or model.safetensors of an emotion2vec checkpoint.',
  );
}

/** What the first bytes say the file is, for the error message. */
function describeStart(bytes: Uint8Array): string {
  const sniffed = sniffFormat(bytes);
  if (sniffed.format === 'text') return `the text ${JSON.stringify(new TextDecoder().decode(bytes.subarray(0, 32)))}`;
  if (sniffed.kind !== 'unknown') return `the signature of a ${sniffed.label}`;
  return `the bytes ${hexHead(bytes)}`;
}
