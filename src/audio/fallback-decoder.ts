/**
 * The audio room's one runtime hook: a decoder for what no bundled decoder reads (ffmpeg in Node, the browser's
 * `decodeAudioData`), installed by the runtime (`installNodePlatform`, the browser entry). `decodeAudio` hands
 * it the bytes only after the WAV reader and the bundled decoders said they cannot read them.
 */
import type { DecodedAudio } from './types.js';

/** What `decodeAudio` knows about bytes it hands to the fallback decoder. */
export interface FallbackHint {
  /** Name of the file the bytes came from, for messages. */
  readonly fileName?: string;
  /** Format detected from the content ('wav', 'mp3'...), when recognised. */
  readonly format?: string;
  /** Mix to mono while reading (float32 mean of the channels). */
  readonly mono?: boolean;
  /** Sample rate the container declares, when its header could be read (lets a browser decode without resampling). */
  readonly sampleRate?: number;
  /**
   * Stop with `AUDIO_TOO_LONG` rather than make more than this many seconds of samples (ffmpeg's output is read as
   * it streams and the decoder stopped there); decodeAudio checks what any fallback returns against it too.
   */
  readonly maxDurationSeconds?: number;
}

/** What a fallback decoder returns: the channels (already mixed when `mono` was asked) and how many the file had. */
export interface FallbackDecodedAudio extends DecodedAudio {
  /** Channels in the file, when the decoder mixed them while reading; defaults to `channels.length`. */
  readonly sourceChannels?: number;
}

/**
 * Decodes audio that no bundled decoder handles. Returns null when its tool is missing (ffmpeg not on the PATH),
 * so the caller can say so; throws an AudioInputError when it ran but could not decode the bytes.
 */
export type FallbackDecoder = (bytes: Uint8Array, hint: FallbackHint) => Promise<FallbackDecodedAudio | null>;

let installed: FallbackDecoder | undefined;

/** Installs the running platform's fallback decoder; `undefined` removes it (then only the bundled decoders read). */
export function installFallbackDecoder(decoder: FallbackDecoder | undefined): void {
  installed = decoder;
}

/** The installed fallback decoder, if any. */
export function getFallbackDecoder(): FallbackDecoder | undefined {
  return installed;
}
