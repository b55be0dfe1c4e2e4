/**
 * The file the page is about to analyse: its duration, read cheaply from the browser's media element (metadata
 * only, no decoding), which decides whether a timeline is asked for and what the progress estimate is.
 */

/** Longest wait for the media element's metadata; a format it cannot read just has no known duration. */
const METADATA_TIMEOUT_MS = 5000;

/**
 * The duration of `url` (an object URL of the file) in seconds, or null when the browser cannot tell (a format it
 * does not play, a MediaRecorder WebM whose header has no duration).
 */
export function probeDuration(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const media = new Audio();
    media.preload = 'metadata';
    const finish = (seconds: number | null) => {
      clearTimeout(timer);
      media.removeAttribute('src');
      resolve(seconds !== null && Number.isFinite(seconds) && seconds > 0 ? seconds : null);
    };
    const timer = setTimeout(() => finish(null), METADATA_TIMEOUT_MS);
    media.addEventListener('loadedmetadata', () => finish(media.duration), { once: true });
    media.addEventListener('error', () => finish(null), { once: true });
    media.src = url;
  });
}
