/**
 * Labelled audio for training and evaluating a head (Node): a CSV of `path,label` rows, or a Kaldi-style
 * `wav.scp` (`<key> <path>`) with a labels file (`<key> <label>`). Relative paths are relative to the file
 * that names them. Every audio file is checked before any work starts, so a typo costs seconds, not a run.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { quote, UsageError } from '../errors.js';
import { headLabelProblem } from '../model/trained-head.js';
import { isPipeCommand, keyedLines, readListFile } from '../io/list-file.js';

/** One labelled recording. */
export interface LabelledItem {
  /** The wav.scp key, or the path as the CSV wrote it. */
  readonly key: string;
  /** Absolute path of the audio file. */
  readonly path: string;
  readonly label: string;
}

/** Where the labelled data is: a CSV (`path,label`), or a wav.scp plus a labels file. */
export interface DataSource {
  /** A `.csv` file, or a wav.scp. */
  readonly data: string;
  /** The labels file (`<key> <label>` per line); required with a wav.scp, not allowed with a CSV. */
  readonly labels?: string;
}

/** Problems listed by name in one error message; the rest are counted. */
const LISTED = 10;
const MAX_LABEL_LENGTH = 200;

/** Reads the items of a CSV or wav.scp + labels file and checks that every audio file exists. */
export async function readLabelledData(source: DataSource): Promise<LabelledItem[]> {
  const isCsv = extname(source.data).toLowerCase() === '.csv';
  if (isCsv && source.labels !== undefined) {
    throw new UsageError(
      'TRAIN_DATA_INVALID',
      `${source.data} is a CSV with its labels in it; drop the labels file (${source.labels}), which only goes with a wav.scp.`,
    );
  }
  if (!isCsv && source.labels === undefined) {
    throw new UsageError(
      'TRAIN_DATA_INVALID',
      `${source.data} is not a .csv file, so it is read as a wav.scp (<key> <path> per line), which needs a labels file (<key> <label> per line). Pass it with --labels (library: { labels }).`,
    );
  }
  const items = isCsv
    ? csvItems(await readList(source.data), source.data)
    : scpItems(await readList(source.data), source.data, await readList(source.labels!), source.labels!);
  if (items.length === 0) throw new UsageError('TRAIN_DATA_INVALID', `${source.data} lists no labelled recordings.`);
  await assertAudioExists(items, source.labels ?? source.data);
  return items;
}

/** The classes of `items` (sorted, or in the order `classes` gives), checked: at least two, each with an example. */
export function classesOf(items: readonly LabelledItem[], classes?: readonly string[]): string[] {
  const found = new Set(items.map((item) => item.label));
  const chosen = classes ? [...classes] : [...found].sort();
  if (classes) {
    classes.forEach((label, i) => checkedLabel(label, `class ${i + 1} of the class list`));
    const extra = [...found].filter((label) => !classes.includes(label));
    if (extra.length > 0) {
      throw new UsageError(
        'TRAIN_DATA_INVALID',
        `The data has label(s) that the class list does not name: ${quoteList(extra)}. Add them to the classes, or drop those rows.`,
      );
    }
    const empty = classes.filter((label) => !found.has(label));
    if (empty.length > 0) {
      throw new UsageError(
        'TRAIN_CLASS_EMPTY',
        `No example of class(es) ${quoteList(empty)} in the data: a head cannot learn a class it never sees. Add recordings for them, or leave them out of the classes.`,
        {
          details: { classes: empty },
        },
      );
    }
    if (new Set(classes).size !== classes.length)
      throw new UsageError('TRAIN_DATA_INVALID', 'The class list names a class twice.');
  }
  if (chosen.length < 2) {
    throw new UsageError(
      'TRAIN_TOO_FEW_CLASSES',
      `The data has ${chosen.length === 0 ? 'no class' : `only one class (${quoteList(chosen)})`}; a classifier needs at least two. Add recordings of other classes.`,
      {
        details: { classes: chosen },
      },
    );
  }
  return chosen;
}

function readList(path: string): Promise<string> {
  return readListFile(path, {
    code: 'TRAIN_DATA_INVALID',
    missingHint: 'Pass the CSV (path,label) or the wav.scp and labels file.',
  });
}

/**
 * `path,label` rows; a first row naming the columns `path` and `label` (any order, other columns ignored) is a header.
 */
function csvItems(text: string, file: string): LabelledItem[] {
  let rows: string[][];
  try {
    rows = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new UsageError('TRAIN_DATA_INVALID', `${file} is not valid CSV: ${(error as Error).message.slice(0, 300)}`);
  }
  const header = rows[0]?.map((cell) => cell.toLowerCase()) ?? [];
  const hasHeader = header.includes('path') && header.includes('label');
  const pathColumn = hasHeader ? header.indexOf('path') : 0;
  const labelColumn = hasHeader ? header.indexOf('label') : 1;
  return rows.slice(hasHeader ? 1 : 0).map((row, i) => {
    const line = i + (hasHeader ? 2 : 1);
    const path = row[pathColumn] ?? '';
    const label = row[labelColumn] ?? '';
    if (!path || !label)
      throw new UsageError(
        'TRAIN_DATA_INVALID',
        `${file}, row ${line}: expected "path,label", got ${JSON.stringify(row.join(',').slice(0, 120))}.`,
      );
    return { key: path, path: resolveFrom(file, path), label: checkedLabel(label, `${file}, row ${line}`) };
  });
}

/** A Kaldi list by key; a key given twice is refused (which of its two recordings or labels would be meant?). */
function keyedEntries(text: string, file: string, what: string): Map<string, { value: string; line: number }> {
  const entries = new Map<string, { value: string; line: number }>();
  for (const { key, value, line } of keyedLines(text, file, what, 'TRAIN_DATA_INVALID')) {
    if (entries.has(key))
      throw new UsageError(
        'TRAIN_DATA_INVALID',
        `${file}, line ${line}: the key ${JSON.stringify(key.slice(0, 80))} appears twice.`,
      );
    entries.set(key, { value, line });
  }
  return entries;
}

function scpItems(scpText: string, scpFile: string, labelText: string, labelFile: string): LabelledItem[] {
  const paths = keyedEntries(scpText, scpFile, 'path');
  const labels = keyedEntries(labelText, labelFile, 'label');
  const missing = [...labels.keys()].filter((key) => !paths.has(key));
  if (missing.length > 0) {
    throw new UsageError(
      'TRAIN_AUDIO_MISSING',
      `${labelFile} labels ${missing.length} key(s) that ${scpFile} has no audio for: ${quoteList(missing)}. Add them to the wav.scp, or drop their labels.`,
      { details: { keys: missing.slice(0, LISTED), count: missing.length } },
    );
  }
  return [...labels].map(([key, { value: label, line }]) => {
    const { value: path, line: scpLine } = paths.get(key)!;
    if (isPipeCommand(path)) {
      throw new UsageError(
        'TRAIN_DATA_INVALID',
        `${scpFile}, line ${scpLine}: commands piped into a wav.scp ("... |") are not run; write the audio to files and list their paths.`,
      );
    }
    return { key, path: resolveFrom(scpFile, path), label: checkedLabel(label, `${labelFile}, line ${line}`) };
  });
}

/**
 * A label as a head can keep it (trained-head.ts `headLabelProblem`: no control characters, no white space at its
 * ends, no `unuse` prefix), of at most MAX_LABEL_LENGTH characters: checked before any audio is read, so a bad row
 * costs nothing and can never produce a head that does not load.
 */
function checkedLabel(label: string, where: string): string {
  const problem =
    label.length > MAX_LABEL_LENGTH
      ? `has ${label.length} characters; at most ${MAX_LABEL_LENGTH}`
      : headLabelProblem(label);
  if (problem)
    throw new UsageError(
      'TRAIN_DATA_INVALID',
      `${where}: the label ${quote(label, 60)} ${problem}. Fix the label (every class name is written to the head's tokens.txt).`,
      { details: { where } },
    );
  return label;
}

async function assertAudioExists(items: readonly LabelledItem[], listFile: string): Promise<void> {
  const problems: string[] = [];
  for (const item of items) {
    const info = await stat(item.path).catch(() => null);
    if (!info) problems.push(`${item.key} (${item.path}: no such file)`);
    else if (!info.isFile()) problems.push(`${item.key} (${item.path}: not a regular file)`);
  }
  if (problems.length > 0) {
    throw new UsageError(
      'TRAIN_AUDIO_MISSING',
      `${listFile} names ${problems.length} recording(s) that cannot be found: ${problems.slice(0, LISTED).join('; ')}${problems.length > LISTED ? '; ...' : ''}. Fix the paths (relative ones are relative to the list file) or drop those rows.`,
      {
        details: { missing: problems.slice(0, LISTED), count: problems.length },
      },
    );
  }
}

function resolveFrom(listFile: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(listFile), path);
}

function quoteList(values: readonly string[]): string {
  const shown = values.slice(0, LISTED).map((v) => JSON.stringify(v.slice(0, 80)));
  return `${shown.join(', ')}${values.length > LISTED ? `, ... (${values.length} in all)` : ''}`;
}
