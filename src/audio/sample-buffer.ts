/**
 * A growing run of samples addressed by absolute index, that forgets what is no longer needed: live input and
 * long files read segments out of it while holding only the audio of the segments still to run.
 */
export class SampleBuffer {
  private chunks: Float32Array[] = [];
  /** Absolute index of the first sample of `chunks[0]`. */
  private start = 0;
  private total = 0;

  /** Samples appended so far (the absolute end index). */
  get length(): number {
    return this.total;
  }

  /** Adds samples at the end. The chunk is kept as is (not copied): do not modify it afterwards. */
  append(chunk: Float32Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** A copy of samples [from, to); both must lie in what is still held. */
  slice(from: number, to: number): Float32Array {
    if (from < this.start || to > this.total || from > to) {
      throw new RangeError(`SampleBuffer.slice(${from}, ${to}) outside the held range [${this.start}, ${this.total}).`);
    }
    const out = new Float32Array(to - from);
    let offset = this.start;
    for (const chunk of this.chunks) {
      const chunkEnd = offset + chunk.length;
      if (chunkEnd > from && offset < to) {
        const a = Math.max(from, offset) - offset;
        const b = Math.min(to, chunkEnd) - offset;
        out.set(chunk.subarray(a, b), offset + a - from);
      }
      offset = chunkEnd;
      if (offset >= to) break;
    }
    return out;
  }

  /**
   * Forgets the chunks that end before `index`. A chunk straddling it is kept whole: live chunks are small, and a
   * whole file handed over as one chunk is still held by its caller anyway.
   */
  dropBefore(index: number): void {
    while (this.chunks.length > 0 && this.start + this.chunks[0]!.length <= index) {
      this.start += this.chunks.shift()!.length;
    }
  }
}
