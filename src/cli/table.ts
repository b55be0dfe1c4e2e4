/** The human-readable result table of `analyze`: one row per input, every text made safe for a terminal. */
import type { ErrorRecord, ResultRecord } from '../results/record.js';
import { printable } from '../results/safe-name.js';

const COLUMNS = [
  { title: 'input', width: 28 },
  { title: 'emotion', width: 16 },
  { title: 'score', width: 6 },
  // The audio's length, not the time it took.
  { title: 'audio s', width: 8 },
];

/** The header line and its rule. */
export function tableHeader(): string {
  const header = COLUMNS.map((c) => pad(c.title, c.width)).join('  ');
  return `${header}  notes\n${'-'.repeat(displayWidth(header) + 7)}\n`;
}

/** One row: the key, the top label (Chinese/English), its score, the audio's duration, then warnings or the error. */
export function tableRow(record: ResultRecord | ErrorRecord): string {
  const key = printable(record.key);
  if ('error' in record) {
    return `${pad(key, COLUMNS[0]!.width)}  ${pad('error', COLUMNS[1]!.width)}  ${pad('', COLUMNS[2]!.width)}  ${pad('', COLUMNS[3]!.width)}  ${record.error.code}: ${printable(record.error.message)}\n`;
  }
  const emotion =
    record.emotion === null
      ? '(embedding only)'
      : record.emotion_zh
        ? `${record.emotion_zh}/${record.emotion}`
        : record.emotion;
  const notes = (record.quality?.warnings ?? []).map((warning) => warning.code).join(', ');
  return (
    [
      pad(key, COLUMNS[0]!.width),
      pad(printable(emotion), COLUMNS[1]!.width),
      pad(record.confidence === null ? '' : record.confidence.toFixed(3), COLUMNS[2]!.width),
      pad(record.duration.toFixed(2), COLUMNS[3]!.width),
      notes,
    ]
      .join('  ')
      .trimEnd() + '\n'
  );
}

/** Columns a string takes on a terminal: East Asian wide characters take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text)
    width += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(char)
      ? 2
      : 1;
  return width;
}

/** Pads to `width` columns; a longer text is cut with an ellipsis (keys can be long). */
function pad(text: string, width: number): string {
  let out = text;
  if (displayWidth(out) > width) {
    out = '';
    for (const char of text) {
      if (displayWidth(out + char) > width - 1) break;
      out += char;
    }
    out += '…';
  }
  return out + ' '.repeat(Math.max(0, width - displayWidth(out)));
}
