/**
 * The model's clock: every emotion2vec+ checkpoint hears 16 kHz audio and gives one frame per 320 samples (20 ms),
 * each frame reading 400 samples (25 ms) from its start. Preparation resamples to this rate, the voice-activity
 * detector steps in these frames so that segment edges fall on model frames, the segment runner encodes a
 * segment's samples with the 80 that its last frame reads past the hop, and frame scores and timelines turn frame
 * indices into seconds with it.
 *
 * The model derives the same numbers from config.yaml's CNN (model/config.ts `frameHop`, `minimumSamples`) and
 * refuses a config whose CNN would give other frames, so the two can never silently disagree.
 */

/** The rate every waveform is resampled to before the model, in Hz. */
export const MODEL_SAMPLE_RATE = 16000;

/** Samples between the starts of two frames: the CNN's total stride (5·2·2·2·2·2·2). */
export const FRAME_HOP_SAMPLES = 320;

/** Samples one frame reads from its start: the CNN's receptive field, and the fewest samples that give a frame. */
export const FRAME_WINDOW_SAMPLES = 400;

/** Samples the last frame of a stretch reads past its hop (400 - 320). */
export const FRAME_TAIL_SAMPLES = FRAME_WINDOW_SAMPLES - FRAME_HOP_SAMPLES;

/** Seconds between frames (0.02). */
export const FRAME_HOP_SECONDS = FRAME_HOP_SAMPLES / MODEL_SAMPLE_RATE;

/** Seconds from the start of the audio to the start of frame `frame`. */
export function frameSeconds(frame: number): number {
  return frame * FRAME_HOP_SECONDS;
}
