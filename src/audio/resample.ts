/**
 * Band-limited resampling that reproduces torchaudio's default `Resample(orig, new)` (windowed sinc with a
 * Hann window, `lowpass_filter_width = 6`, `rolloff = 0.99`), which is what emotion2vec's upstream pipeline
 * runs before the model. Matching it sample for sample keeps the model's input identical to upstream.
 *
 * torchaudio builds one filter per output phase (a `new × (2·width + orig)` kernel) and runs it as a strided
 * convolution over the zero-padded input. Most of each row is exactly zero after the float32 cast, so here
 * each phase keeps only its non-zero span and the convolution becomes direct dot products: same numbers,
 * a fraction of the work, and no padded copy of the input.
 */
import { AudioInputError } from '../errors.js';

/** Zero crossings of the sinc kept on each side (torchaudio's `lowpass_filter_width` default). */
const LOWPASS_FILTER_WIDTH = 6;
/** Cut-off as a fraction of the lower Nyquist frequency (torchaudio's `rolloff` default). */
const ROLLOFF = 0.99;

/** The polyphase filter bank for one pair of rates, as torchaudio would build it, with zero taps dropped. */
export interface ResampleKernel {
  /** Input rate divided by gcd(fromRate, toRate): input samples consumed per block. */
  readonly fromStep: number;
  /** Output rate divided by the gcd: output samples (phases) produced per block. */
  readonly toStep: number;
  /** torchaudio's `width`: zeros padded before the input; each full kernel row has `2·width + fromStep` taps. */
  readonly width: number;
  /** Per phase, the index in torchaudio's full kernel row of the first kept tap. */
  readonly offsets: Int32Array;
  /** Per phase, the number of kept taps. */
  readonly lengths: Int32Array;
  /** Per phase, where its taps start in `taps`. */
  readonly starts: Int32Array;
  /** Every phase's kept taps, back to back; float32 values (torchaudio casts its float64 kernel to float32). */
  readonly taps: Float64Array;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

function checkRate(rate: number, name: string): void {
  if (!Number.isSafeInteger(rate) || rate <= 0) {
    throw new AudioInputError(
      'AUDIO_SAMPLE_RATE',
      `${name} must be a positive whole number of samples per second, got ${String(rate)}. ` +
        'Pass the integer rate of the audio (for example 44100 or 16000).',
      { details: { [name]: rate } },
    );
  }
}

/**
 * Builds the polyphase kernel torchaudio's `_get_sinc_resample_kernel` computes for these rates (default
 * arguments), keeping only each phase's non-zero taps. Exposed for tests and for callers that resample many
 * buffers at one pair of rates.
 *
 * @throws AudioInputError `AUDIO_SAMPLE_RATE` when a rate is not a positive integer.
 */
export function sincResampleKernel(fromRate: number, toRate: number): ResampleKernel {
  checkRate(fromRate, 'fromRate');
  checkRate(toRate, 'toRate');
  const divisor = gcd(fromRate, toRate);
  const orig = fromRate / divisor;
  const next = toRate / divisor;
  // The operation order below follows torchaudio's float64 arithmetic so the float32-rounded taps agree.
  const baseFreq = Math.min(orig, next) * ROLLOFF;
  const width = Math.ceil((LOWPASS_FILTER_WIDTH * orig) / baseFreq);
  const rowLength = 2 * width + orig;
  const scale = baseFreq / orig;
  // Half-support of the sinc in input samples; taps beyond it are clamped to the window's zero.
  const reach = (LOWPASS_FILTER_WIDTH * orig) / baseFreq;

  const offsets = new Int32Array(next);
  const lengths = new Int32Array(next);
  const starts = new Int32Array(next);
  const chunks: Float64Array[] = [];
  let total = 0;
  const row: number[] = [];
  for (let j = 0; j < next; j++) {
    // torchaudio computes the phase offset -j/new in float32 (an integer arange divided by an int).
    const phase = Math.fround(-j / next);
    const centre = width + (orig * j) / next;
    const lo = Math.max(0, Math.floor(centre - reach) - 2);
    const hi = Math.min(rowLength - 1, Math.ceil(centre + reach) + 2);
    row.length = 0;
    for (let k = lo; k <= hi; k++) {
      let t = (phase + (k - width) / orig) * baseFreq;
      t = Math.min(LOWPASS_FILTER_WIDTH, Math.max(-LOWPASS_FILTER_WIDTH, t));
      const cosine = Math.cos((t * Math.PI) / LOWPASS_FILTER_WIDTH / 2);
      const window = cosine * cosine;
      t *= Math.PI;
      const sinc = t === 0 ? 1 : Math.sin(t) / t;
      row.push(Math.fround(sinc * (window * scale)));
    }
    let first = 0;
    while (first < row.length && row[first] === 0) first++;
    let last = row.length - 1;
    while (last >= first && row[last] === 0) last--;
    const kept = Float64Array.from(row.slice(first, last + 1));
    offsets[j] = lo + first;
    lengths[j] = kept.length;
    starts[j] = total;
    total += kept.length;
    chunks.push(kept);
  }
  const taps = new Float64Array(total);
  chunks.forEach((chunk, j) => taps.set(chunk, starts[j]!));
  return { fromStep: orig, toStep: next, width, offsets, lengths, starts, taps };
}

/** Output length torchaudio gives for `length` input samples: `ceil(toStep · length / fromStep)`. */
export function resampledLength(length: number, fromRate: number, toRate: number): number {
  checkRate(fromRate, 'fromRate');
  checkRate(toRate, 'toRate');
  if (fromRate === toRate) return length;
  const divisor = gcd(fromRate, toRate);
  return lengthAfterSteps(length, fromRate / divisor, toRate / divisor);
}

/**
 * `ceil(toStep · length / fromStep)` for gcd-reduced rates. Exact in doubles up to 2^53, where torchaudio's float ceil
 * agrees for every realistic length.
 */
function lengthAfterSteps(length: number, fromStep: number, toStep: number): number {
  return Math.ceil((toStep * length) / fromStep);
}

/**
 * Resamples mono audio from `fromRate` to `toRate` exactly as torchaudio's default `Resample(fromRate, toRate)`
 * does (windowed-sinc, Hann window, 6 zero crossings, rolloff 0.99, same zero padding and output length
 * `ceil(toRate · n / fromRate)` after reducing the rates by their gcd). Sums are taken in float64, so results
 * agree with torchaudio's float32 convolution to within float32 rounding.
 *
 * @param samples Mono samples at `fromRate`.
 * @returns A new array at `toRate`, or `samples` itself when the rates are equal.
 * @throws AudioInputError `AUDIO_SAMPLE_RATE` when a rate is not a positive integer.
 */
export function resample(samples: Float32Array, fromRate: number, toRate: number): Float32Array {
  checkRate(fromRate, 'fromRate');
  checkRate(toRate, 'toRate');
  if (fromRate === toRate) return samples;
  return applyResampleKernel(samples, sincResampleKernel(fromRate, toRate));
}

/**
 * Runs a kernel from {@link sincResampleKernel} over `samples`: torchaudio's strided convolution of the input
 * padded with `width` zeros before and `width + fromStep` after, truncated to the torchaudio output length.
 */
export function applyResampleKernel(samples: Float32Array, kernel: ResampleKernel): Float32Array {
  const { fromStep, toStep, width, offsets, lengths, starts, taps } = kernel;
  const length = samples.length;
  const out = new Float32Array(lengthAfterSteps(length, fromStep, toStep));
  let n = 0;
  for (let block = 0; n < out.length; block++) {
    // Index into `samples` of tap 0 of this block's kernel rows (negative inside the left padding).
    const blockStart = block * fromStep - width;
    for (let j = 0; j < toStep && n < out.length; j++, n++) {
      const first = blockStart + offsets[j]!;
      const count = lengths[j]!;
      const tapStart = starts[j]!;
      let acc = 0;
      if (first >= 0 && first + count <= length) {
        for (let c = 0; c < count; c++) acc += taps[tapStart + c]! * samples[first + c]!;
      } else {
        // Near the edges the padding is zeros: only the taps that land on real samples count.
        const cFrom = Math.max(0, -first);
        const cTo = Math.min(count, length - first);
        for (let c = cFrom; c < cTo; c++) acc += taps[tapStart + c]! * samples[first + c]!;
      }
      out[n] = acc;
    }
  }
  return out;
}

/**
 * {@link resample} for audio that arrives in chunks (live input): the same kernel, the same output samples,
 * produced as soon as the input they read has arrived. Holds only the input the next outputs still need (a few
 * filter widths), whatever the length of the audio.
 */
export class StreamingResampler {
  private readonly kernel: ResampleKernel | null;
  /** Input samples kept, starting at absolute input index `bufferStart`. */
  private buffer = new Float32Array(0);
  private bufferStart = 0;
  private received = 0;
  /** Index of the next output sample. */
  private produced = 0;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    checkRate(fromRate, 'fromRate');
    checkRate(toRate, 'toRate');
    this.kernel = fromRate === toRate ? null : sincResampleKernel(fromRate, toRate);
  }

  /** Adds input and returns the output samples it completed. */
  push(samples: Float32Array): Float32Array {
    if (!this.kernel) return samples;
    const merged = new Float32Array(this.buffer.length + samples.length);
    merged.set(this.buffer);
    merged.set(samples, this.buffer.length);
    this.buffer = merged;
    this.received += samples.length;
    return this.produce(false);
  }

  /** Ends the input (zeros after it, as torchaudio pads) and returns the last output samples. */
  end(): Float32Array {
    if (!this.kernel) return new Float32Array(0);
    return this.produce(true);
  }

  private produce(final: boolean): Float32Array {
    const { fromStep, toStep, width, offsets, lengths, starts, taps } = this.kernel!;
    const total = final ? lengthAfterSteps(this.received, fromStep, toStep) : Infinity;
    const out: number[] = [];
    for (;;) {
      const n = this.produced;
      if (n >= total) break;
      const block = Math.floor(n / toStep);
      const j = n % toStep;
      const first = block * fromStep - width + offsets[j]!;
      const count = lengths[j]!;
      if (!final && first + count > this.received) break;
      let acc = 0;
      const cFrom = Math.max(0, -first);
      const cTo = Math.min(count, this.received - first);
      for (let c = cFrom; c < cTo; c++) acc += taps[starts[j]! + c]! * this.buffer[first + c - this.bufferStart]!;
      out.push(acc);
      this.produced++;
    }
    // Keep only what the next output reads: from its block's first padded index on.
    const keepFrom = Math.max(0, Math.floor(this.produced / toStep) * fromStep - width);
    if (keepFrom > this.bufferStart) {
      this.buffer = this.buffer.slice(Math.min(this.buffer.length, keepFrom - this.bufferStart));
      this.bufferStart = keepFrom;
    }
    return Float32Array.from(out);
  }
}
