/**
 * Bytes read by position, from memory or from a file, so that a checkpoint's tensors can be read straight from
 * where they lie into the buffer that becomes the tensor: a 1.2 GB model.pt or shard folder is never held whole
 * in memory beside the weights on the backend.
 */
import type { RandomAccess } from '../platform.js';

// Declared on the ground floor, where a platform's `openFile` hands one out; re-exported for the readers here.
export type { RandomAccess };

/** Random access to bytes already in memory (views, no copies). */
export function memoryAccess(bytes: Uint8Array): RandomAccess {
  return {
    size: bytes.length,
    readInto(position, target) {
      const available = Math.max(0, Math.min(target.length, bytes.length - position));
      target.set(bytes.subarray(position, position + available));
      return available;
    },
    view: (position, length) => bytes.subarray(position, Math.min(bytes.length, position + length)),
  };
}

/**
 * Bytes [position, position + length) as a Uint8Array: a view where the source is in memory, else a fresh
 * buffer. Shorter than `length` when the source ends first (callers check).
 */
export function readRange(source: RandomAccess, position: number, length: number): Uint8Array {
  const end = Math.min(source.size, position + Math.max(0, length));
  if (position < 0 || position >= end) return new Uint8Array(0);
  if (source.view) return source.view(position, end - position);
  const out = new Uint8Array(end - position);
  const read = source.readInto(position, out);
  return read === out.length ? out : out.subarray(0, read);
}
