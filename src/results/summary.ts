/**
 * `summary.csv`: one row per input of a run, done or failed, for a spreadsheet. Columns: folder, key, input,
 * status (ok / error), emotion, emotion_zh, confidence, duration, frames, warnings (quality codes, `;`-separated),
 * error_code, error_message, then one `score_<name>` column per label (the keys of the records' `scores`).
 */
import { join, resolve } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { csvText } from './csv.js';
import type { ErrorRecord, ResultRecord } from './record.js';

export const SUMMARY_FILE = 'summary.csv';
/** Names in a run folder that are not input folders: no key may take one (compared ignoring case). */
export const RESERVED_OUTPUT_NAMES: readonly string[] = [SUMMARY_FILE];

/** One input of a run: its record, and the folder its files went to (none for a failed input). */
export interface SummaryEntry {
  readonly record: ResultRecord | ErrorRecord;
  readonly folder?: string;
}

const FIXED_COLUMNS = [
  'folder',
  'key',
  'input',
  'status',
  'emotion',
  'emotion_zh',
  'confidence',
  'duration',
  'frames',
  'warnings',
  'error_code',
  'error_message',
];

/** The CSV text (header included) for these entries, in their order. */
export function formatSummaryCsv(entries: readonly SummaryEntry[]): string {
  const labels: string[] = [];
  for (const { record } of entries) {
    if ('scores' in record) for (const { name } of record.labels) if (!labels.includes(name)) labels.push(name);
  }
  const rows = entries.map(({ record, folder }) => {
    const common = [folder ?? '', record.key, record.input];
    if ('error' in record) {
      return [
        ...common,
        'error',
        '',
        '',
        '',
        '',
        '',
        '',
        record.error.code,
        record.error.message,
        ...labels.map(() => ''),
      ];
    }
    const scores = new Map(Object.entries(record.scores));
    return [
      ...common,
      'ok',
      record.emotion ?? '',
      record.emotion_zh ?? '',
      record.confidence ?? '',
      record.duration,
      record.frames,
      (record.quality?.warnings ?? []).map((warning) => warning.code).join(';'),
      '',
      '',
      ...labels.map((label) => scores.get(label) ?? ''),
    ];
  });
  return csvText([[...FIXED_COLUMNS, ...labels.map((label) => `score_${label}`)], ...rows]);
}

/** Writes `<outputRoot>/summary.csv` atomically (a rewrite after each input keeps it current if the run stops). */
export async function writeSummaryCsv(outputRoot: string, entries: readonly SummaryEntry[]): Promise<string> {
  const root = resolve(outputRoot);
  await mkdir(root, { recursive: true });
  const path = join(root, SUMMARY_FILE);
  await writeFileAtomic(path, formatSummaryCsv(entries));
  return path;
}
