/**
 * List files, the one reader for the CLI's inputs (a Kaldi `wav.scp`, or one path a line) and head training's data
 * (a CSV, or a `wav.scp` with a labels file). A list is refused unread when it is missing, not a regular file, or
 * larger than any list of recordings; a UTF-8 byte-order mark is dropped; blank lines and `#` comments are skipped.
 * What the entries mean (paths relative to the current folder or to the list, whether a key may repeat) is the
 * caller's. Node only.
 */
import { stat } from 'node:fs/promises';
import { printable, UsageError, type ErrorCode } from '../errors.js';
import { readRegularFile } from './regular-file.js';

/** Largest list read: a million recordings are about 100 MB of paths. */
export const MAX_LIST_BYTES = 256 * 2 ** 20;

/** One entry of a list: a line that is neither blank nor a `#` comment, trimmed, with its 1-based line number. */
export interface ListLine {
  readonly text: string;
  readonly line: number;
}

/** One line of a Kaldi list: the key, and the rest of the line (a path may hold blanks). */
export interface KeyedLine {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** How a caller reports a bad list: its error code, and what to do when the file is missing. */
export interface ListErrors {
  readonly code: ErrorCode;
  readonly missingHint?: string;
}

/**
 * The text of a list file.
 *
 * @throws UsageError with `errors.code` when the file is missing, not a regular file or over {@link MAX_LIST_BYTES};
 *   `FILE_NOT_REGULAR` / `FILE_TOO_LARGE` when it changes into one of those while being opened.
 */
export async function readListFile(path: string, errors: ListErrors): Promise<string> {
  const info = await stat(path).catch(() => null);
  if (info === null)
    throw new UsageError(
      errors.code,
      `Cannot open ${printable(path)}: no such file.${errors.missingHint ? ` ${errors.missingHint}` : ''}`,
    );
  if (!info.isFile()) throw new UsageError(errors.code, `${printable(path)} is not a regular file.`);
  if (info.size > MAX_LIST_BYTES)
    throw new UsageError(
      errors.code,
      `${printable(path)} is ${info.size} bytes: too large for a list (at most ${MAX_LIST_BYTES}). Split it.`,
    );
  return new TextDecoder().decode(await readRegularFile(path, { maxBytes: MAX_LIST_BYTES })).replace(/^\uFEFF/, '');
}

/** The entries of a list, one a line: blank lines and `#` comments skipped, each trimmed. */
export function listLines(text: string): ListLine[] {
  const lines: ListLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line.length > 0 && !line.startsWith('#')) lines.push({ text: line, line: index + 1 });
  });
  return lines;
}

/**
 * The entries of a Kaldi list (`wav.scp`: `<key> <path>`, a labels file: `<key> <label>`): the key ends at the
 * first blank, the value is the rest of the line.
 *
 * @param what - The value's name in messages ('path', 'label').
 * @throws UsageError with `code`, naming the file and line, for a line without a value.
 */
export function keyedLines(text: string, listName: string, what: string, code: ErrorCode): KeyedLine[] {
  return listLines(text).map(({ text: line, line: number }) => {
    const match = /^(\S+)\s+(.+)$/.exec(line);
    if (!match) {
      throw new UsageError(
        code,
        `${printable(listName)} line ${number}: expected "<key> <${what}>" (a Kaldi list line), got ${JSON.stringify(printable(line.slice(0, 120)))}.`,
      );
    }
    return { key: match[1]!, value: match[2]!, line: number };
  });
}

/** A wav.scp value ending in `|` is a command whose output is the audio: never run. */
export function isPipeCommand(value: string): boolean {
  return value.endsWith('|');
}
