/**
 * Whether a string names a web resource rather than a file: the one test the model loader, the queue and result keys
 * share.
 */

/** True for an http(s) URL (`http://` or `https://`, any case): fetched, never opened as a path. */
export function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}
