/**
 * The browser's own audio decoder (Web Audio's `decodeAudioData`), the fallback for formats the bundled decoders
 * do not read. Installed by the browser platform (src/browser-platform.ts).
 */
import { MODEL_SAMPLE_RATE } from './frame-geometry.js';
import { AudioInputError } from '../errors.js';
import type { FallbackHint } from './fallback-decoder.js';
import type { DecodedAudio } from './types.js';

/** The rates every Web Audio implementation must accept for a context (the spec's minimum range). */
const WEB_AUDIO_MIN_RATE = 3000;
const WEB_AUDIO_MAX_RATE = 768_000;

/**
 * Decodes with the browser's codecs. Web Audio always resamples to its context's rate, so the context is
 * created at the rate the file declares when `decodeAudio` could read it (then nothing is resampled and the
 * torchaudio-exact resampler runs afterwards); otherwise at the model's 16 kHz (so only one resampling happens),
 * where the browser's own resampler makes the result close to, but not bit-identical with, upstream.
 */
export async function decodeWithWebAudio(bytes: Uint8Array, hint: FallbackHint): Promise<DecodedAudio | null> {
  const OfflineContext = globalThis.OfflineAudioContext;
  if (typeof OfflineContext !== 'function') return null;
  const rate =
    hint.sampleRate !== undefined && hint.sampleRate >= WEB_AUDIO_MIN_RATE && hint.sampleRate <= WEB_AUDIO_MAX_RATE
      ? hint.sampleRate
      : MODEL_SAMPLE_RATE;
  const context = new OfflineContext(1, 1, rate);
  let buffer: AudioBuffer;
  try {
    // decodeAudioData detaches the buffer it is given: hand it a copy so the caller's bytes stay usable.
    buffer = await context.decodeAudioData(bytes.slice().buffer);
  } catch (error) {
    const reason = `the browser's decodeAudioData failed (${error instanceof Error ? error.message : String(error)})`;
    throw new AudioInputError('AUDIO_DECODE', `Cannot decode ${hint.fileName ?? 'this audio'}: ${reason}.`, {
      details: { reason },
    });
  }
  // Channels are mixed (when asked) by decodeAudio itself, as for every decoder.
  const channels: Float32Array[] = [];
  for (let c = 0; c < buffer.numberOfChannels; c++) channels.push(buffer.getChannelData(c));
  return { channels, sampleRate: buffer.sampleRate, format: hint.format };
}
