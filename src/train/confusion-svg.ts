/**
 * The confusion matrix as an SVG picture: one cell per (true, predicted) pair, shaded by the share of the true
 * class's examples, with the count written in it. Written by hand: it is a grid of rectangles and text, and a
 * charting library would bring a DOM or a canvas for nothing.
 */
import { escapeSvgText } from '../results/svg-text.js';
import { drawnClasses, drawnClassesNote, type Evaluation } from './metrics.js';

const CELL = 56;
const FONT = 'font-family="sans-serif" font-size="12"';

/**
 * The matrix as SVG text. A head of many classes is drawn for the classes with the most examples and predictions
 * (`maxClasses`, default MAX_DRAWN_CLASSES), with a note under it saying so; shades stay shares of each true class's
 * examples over all classes.
 */
export function confusionSvg(evaluation: Evaluation, options: { maxClasses?: number } = {}): string {
  const { labels, confusion } = evaluation;
  const shown = drawnClasses(evaluation, options.maxClasses);
  const note = drawnClassesNote(evaluation, shown);
  const k = shown.length;
  const longest = shown.reduce((most, c) => Math.max(most, clip(labels[c]!).length), 4);
  const margin = Math.min(220, 24 + 7 * longest);
  const size = margin + k * CELL + 16;
  const title = `accuracy ${percent(evaluation.accuracy)}, UA ${percent(evaluation.unweightedAccuracy)}, macro F1 ${percent(evaluation.macroF1)} (n=${evaluation.count})`;
  const footer = note ? 20 : 0;
  // About 7.5 px per bold 12 px character (6.5 for the note): wide enough for the lines under the matrix.
  const width = Math.max(size, Math.ceil(24 + title.length * 7.5), Math.ceil(24 + note.length * 6.5));
  const height = size + 36 + footer;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="${size + 22}" ${FONT} font-weight="bold">${escapeSvgText(title)}</text>`,
    ...(note ? [`<text x="12" y="${size + 42}" ${FONT}>${escapeSvgText(note)}</text>`] : []),
    `<text x="4" y="14" ${FONT}>true \u2193 predicted \u2192</text>`,
  ];
  shown.forEach((r, i) => {
    const row = confusion[r]!;
    const total = row.reduce((a, b) => a + b, 0);
    const y = margin + i * CELL;
    parts.push(
      `<text x="${margin - 6}" y="${y + CELL / 2 + 4}" ${FONT} text-anchor="end">${escapeSvgText(clip(labels[r]!))}</text>`,
    );
    shown.forEach((c, j) => {
      const count = row[c]!;
      const share = total > 0 ? count / total : 0;
      const x = margin + j * CELL;
      const shade = Math.round(255 - share * 200);
      parts.push(
        `<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="rgb(${shade},${shade},255)" stroke="#999"/>`,
      );
      parts.push(
        `<text x="${x + CELL / 2}" y="${y + CELL / 2 + 4}" ${FONT} text-anchor="middle" fill="${share > 0.6 ? 'white' : 'black'}">${count}</text>`,
      );
    });
  });
  shown.forEach((c, j) => {
    const x = margin + j * CELL + CELL / 2;
    const y = margin - 6;
    parts.push(
      `<text x="${x}" y="${y}" ${FONT} text-anchor="start" transform="rotate(-45 ${x} ${y})">${escapeSvgText(clip(labels[c]!))}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function clip(label: string): string {
  return label.length > 28 ? `${label.slice(0, 27)}\u2026` : label;
}
