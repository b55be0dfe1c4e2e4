/**
 * The one CSV writer of result files (summary.csv, timeline.csv): RFC 4180 quoting by csv-stringify, and every
 * text cell that a spreadsheet would run as a formula made inert. File names, keys, error messages and labels (from
 * a model's tokens.txt or an annotator's CSV) all reach these files, so no column is trusted to be harmless.
 *
 * csv-stringify's self-contained browser build is used in every runtime: timeline.csv is also made in the page, and
 * the Node build needs Node's Buffer when it loads.
 */
import { stringify } from 'csv-stringify/browser/esm/sync';

/** One cell: text, or a number written as JavaScript prints it; null and undefined are empty cells. */
export type CsvCell = string | number | null | undefined;

/** CSV text (a header is just the first row), each row ending in `\n`. */
export function csvText(rows: readonly (readonly CsvCell[])[]): string {
  return stringify(rows.map((row) => row.map((cell) => (typeof cell === 'string' ? inertCell(cell) : (cell ?? '')))));
}

/**
 * A text cell a spreadsheet will not evaluate: one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
 * (what Excel, LibreOffice and Google Sheets treat as a formula) gets a leading `'`, which they show as text. A
 * cell that is a plain number (`-0.5`, `1e-3`) is left as it is.
 */
export function inertCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) && !/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? `'${text}` : text;
}
