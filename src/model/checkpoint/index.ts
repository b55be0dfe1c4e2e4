/**
 * Checkpoint files to tensors: recognises the container by its first bytes (not its name) and reads it.
 * Torch zip (`model.pt`) and `.safetensors` are read; the legacy torch format and anything else get an
 * error that says what the file is and how to get a readable one.
 */
import { CheckpointError } from '../../errors.js';
import type { CheckpointContents } from '../state-dict.js';
import { looksLikeSafetensors, readSafetensors } from './safetensors.js';
import { looksLikeZip, readTorchZip } from './torch-zip.js';

/** Reads a PyTorch zip checkpoint or a safetensors file; `fileName` is used in messages only. */
export function readCheckpoint(bytes: Uint8Array, fileName: string): CheckpointContents {
  if (bytes.length === 0) throw new CheckpointError('CHECKPOINT_TRUNCATED', `${fileName} is empty (0 bytes): download it again.`);
  if (looksLikeZip(bytes)) return readTorchZip(bytes, fileName);
  if (looksLikeSafetensors(bytes)) return readSafetensors(bytes, fileName);
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5) {
    // A bare pickle: torch.save before 1.6 (or with _use_new_zipfile_serialization=False).
    throw new CheckpointError(
      'CHECKPOINT_LEGACY_FORMAT',
      `${fileName} uses PyTorch's legacy (pre-1.6, non-zip) checkpoint format, which this library does not read. ` +
        'Re-save it with a current PyTorch: torch.save(torch.load(path), path), or export .safetensors.',
    );
  }
  throw new CheckpointError(
    'CHECKPOINT_FORMAT',
    `${fileName} is not a PyTorch checkpoint or safetensors file (it starts with ${describeStart(bytes)}). ` +
      'Pass the model.pt or model.safetensors of an emotion2vec checkpoint.',
  );
}

/** What the first bytes look like, for the error message. */
function describeStart(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 8);
  if (head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47) return 'a PNG image signature';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'a gzip signature';
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, 64));
  if (/^[\x09\x0a\x0d\x20-\x7e]+$/.test(text)) return `the text ${JSON.stringify(text.slice(0, 32))}`;
  return `the bytes ${[...head].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
}
