/**
 * The key of an input: what names its result (`result.json`'s `key`, the page's downloads) and, made a safe path
 * segment (safe-name.ts), its result folder. One rule on every surface (the CLI, the queue, the server, the page):
 * the input's file name without its extension. A wav.scp key, when the input came from one, is kept as it is instead.
 *
 * No Node imports: the page computes its keys with this module too.
 */
import { isHttpUrl } from '../io/url.js';

/** What `input` is, where surfaces differ. */
export interface OutputKeyOptions {
  /**
   * True when `input` is already a bare file name: the CLI passes node:path's `basename` of a local path, since
   * only the platform knows its separators (on POSIX `\` is an ordinary file-name character). Otherwise `input`
   * may name folders, cut at the last `/` or `\` (a name a client sends may be a Windows path), and an http(s)
   * URL's key comes from its path, without query or fragment.
   */
  readonly bareName?: boolean;
}

/**
 * The key of `input`: its file name without the extension (`calls/a.b.wav` -> `a.b`). A leading dot starts a
 * hidden name, not an extension (`.wav` stays `.wav`, as node:path reads it). The key may still hold characters a
 * folder cannot: `safeOutputName` / `uniqueOutputNames` make the folder name from it.
 */
export function outputKey(input: string, options: OutputKeyOptions = {}): string {
  const name = options.bareName === true ? input : lastSegment(pathOfUrl(input));
  const dot = name.lastIndexOf('.');
  return dot > 0 && name !== '..' ? name.slice(0, dot) : name;
}

/** An http(s) URL's path (its query and fragment may hold dots and slashes); anything else as it is. */
function pathOfUrl(input: string): string {
  if (!isHttpUrl(input)) return input;
  try {
    return new URL(input).pathname;
  } catch {
    return input;
  }
}

function lastSegment(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}
