/**
 * Node: writes a float32 `.npy` file row block by row block, for arrays too big to hold (the stitched frame
 * embeddings of a long recording). The header is written first with room to spare and rewritten with the final
 * row count on close, so memory holds one block, never the array.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { float32ToLittleEndian } from './bytes.js';

/**
 * Bytes reserved for magic, version, length and header text: room for any 2-D float32 shape, and exactly what
 * `encodeNpy` writes for one (its header of a 2-D shape always pads to 128), so both give the same file.
 */
const HEADER_BYTES = 128;

function headerBytes(shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const text = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Padded with spaces to the reserved size, ending in '\n' as the format asks (a multiple of 64 bytes).
  const padded = text + ' '.repeat(HEADER_BYTES - 10 - text.length - 1) + '\n';
  const out = new Uint8Array(HEADER_BYTES);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[10 + i] = padded.charCodeAt(i);
  return out;
}

/** A (rows, columns) float32 `.npy` file being written. */
export class NpyFileWriter {
  private rows = 0;
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    readonly columns: number,
  ) {}

  /**
   * Creates (or truncates) `path` for an array of `columns` columns. With `exclusive`, `path` must not exist (it
   * is never followed or reused: what a temp file in a folder others can write needs).
   */
  static async create(
    path: string,
    columns: number,
    options: { readonly exclusive?: boolean } = {},
  ): Promise<NpyFileWriter> {
    if (!Number.isInteger(columns) || columns < 1)
      throw new UsageError('INVALID_ARGUMENT', `NpyFileWriter: columns must be a positive integer; got ${columns}.`);
    const file = await open(path, options.exclusive === true ? 'wx' : 'w', 0o644);
    await file.write(headerBytes([0, columns]), 0, HEADER_BYTES, 0);
    return new NpyFileWriter(file, columns);
  }

  /** Rows written so far. */
  get rowCount(): number {
    return this.rows;
  }

  /** Appends whole rows (row-major, a multiple of `columns` values). */
  async append(values: Float32Array): Promise<void> {
    if (this.closed) throw new UsageError('INVALID_ARGUMENT', 'NpyFileWriter: append after close.');
    if (values.length % this.columns !== 0) {
      throw new UsageError(
        'INVALID_ARGUMENT',
        `NpyFileWriter: ${values.length} values is not a whole number of ${this.columns}-column rows.`,
      );
    }
    const bytes = float32ToLittleEndian(values);
    await this.file.write(bytes, 0, bytes.length, HEADER_BYTES + this.rows * this.columns * 4);
    this.rows += values.length / this.columns;
  }

  /** Writes the final shape into the header, flushes to disk and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.file.write(headerBytes([this.rows, this.columns]), 0, HEADER_BYTES, 0);
      await this.file.sync();
    } finally {
      await this.file.close();
    }
  }
}
