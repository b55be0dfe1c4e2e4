/** Audio as decoded from a file or handed over by a caller: one Float32Array per channel, samples in [-1, 1]. */
export interface DecodedAudio {
  /** One array per channel, all the same length. */
  readonly channels: Float32Array[];
  /** Samples per second of every channel. */
  readonly sampleRate: number;
  /** The container/codec that was decoded ('wav', 'mp3', 'flac', ...), or 'pcm' for caller-provided samples. */
  readonly format?: string;
}
