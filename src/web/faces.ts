/**
 * A small drawn face for each emotion2vec+ label, as inline SVG: the page shows these instead of emoji glyphs,
 * which a browser without an emoji font (a server's headless Chromium, many Linux desktops) draws as empty boxes.
 * Drawn for this project (no emoji font or icon set is bundled, so there is no licence to carry); the emoji
 * character itself stays in the page's text for copying and screen readers (emoji.ts).
 */

const INK = '#664500';
const YELLOW = '#ffcc4d';

const face = (fill: string) => `<circle cx="18" cy="18" r="17" fill="${fill}"/>`;
const stroke = (d: string, width = 2, colour = INK) =>
  `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${width}" stroke-linecap="round" stroke-linejoin="round"/>`;
const dot = (cx: number, cy: number, r = 2) => `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${INK}"/>`;
/** A wide-open eye: white with a pupil. */
const openEye = (cx: number, cy: number) =>
  `<circle cx="${cx}" cy="${cy}" r="3.2" fill="#fff" stroke="${INK}" stroke-width="1.2"/>${dot(cx, cy + 0.4, 1.4)}`;

const FACES: Readonly<Record<string, string>> = {
  angry: `${face('#f78b5e')}${stroke('M8 11l7 3.2M28 11l-7 3.2')}${dot(12.5, 17.5)}${dot(23.5, 17.5)}${stroke('M11.5 27.5q6.5-5.5 13 0')}`,
  disgusted: `${face('#a5d46e')}${stroke('M9 15l5 1.2M27 15l-5 1.2')}${stroke('M10 25.5q2-2.4 4 0t4 0t4 0t4 0')}`,
  fearful:
    `${face(YELLOW)}<path d="M2.5 11A17 17 0 0 1 33.5 11Z" fill="#8cc8f2"/>` +
    `${stroke('M8.5 12.5q3-2.6 6-1.6M27.5 12.5q-3-2.6-6-1.6', 1.6)}${openEye(12.5, 17)}${openEye(23.5, 17)}` +
    `<ellipse cx="18" cy="27" rx="3.6" ry="4.6" fill="${INK}"/>`,
  happy:
    `${face(YELLOW)}${stroke('M9.5 16q2.8-3.4 5.6 0M20.9 16q2.8-3.4 5.6 0')}` +
    `<circle cx="8.5" cy="21.5" r="2.6" fill="#ff7892" opacity=".45"/><circle cx="27.5" cy="21.5" r="2.6" fill="#ff7892" opacity=".45"/>` +
    `${stroke('M10.5 22q7.5 7.5 15 0')}`,
  neutral: `${face(YELLOW)}<ellipse cx="12.5" cy="15.5" rx="1.9" ry="2.6" fill="${INK}"/><ellipse cx="23.5" cy="15.5" rx="1.9" ry="2.6" fill="${INK}"/>${stroke('M11.5 25.5h13')}`,
  other: `${face(YELLOW)}${stroke('M8.5 11.5q3.5-3 7-0.5M21 13.2h6', 1.8)}${dot(12.5, 16.5)}${dot(23.5, 16.5)}${stroke('M13 26.5l9.5-2.5')}`,
  sad:
    `${face(YELLOW)}${stroke('M8.5 13l5.5-3M27.5 13l-5.5-3', 1.8)}${dot(12.5, 17.5)}${dot(23.5, 17.5)}` +
    `${stroke('M12 28q6-5 12 0')}<path d="M24.6 20.5q-2.3 4.2 0 5.4q2.3-1.2 0-5.4z" fill="#5dadec"/>`,
  surprised:
    `${face(YELLOW)}${stroke('M8.5 9.5q3.5-2.4 7 0M20.5 9.5q3.5-2.4 7 0', 1.6)}${openEye(12.5, 15.5)}${openEye(23.5, 15.5)}` +
    `<ellipse cx="18" cy="26.5" rx="3.4" ry="4.2" fill="${INK}"/>`,
  unknown: `${face('#d5d9e0')}${stroke('M13.2 13.2a4.8 4.8 0 1 1 6.9 4.3c-1.5.8-2.1 1.7-2.1 3.6', 3, '#5b6270')}<circle cx="18" cy="26.3" r="1.9" fill="#5b6270"/>`,
};

/** A speech balloon, for labels that are not emotion2vec+'s (a trained head's). */
const BALLOON =
  '<path d="M5.5 7h25a3.5 3.5 0 0 1 3.5 3.5v12a3.5 3.5 0 0 1-3.5 3.5H15l-6.5 5.5V26h-3A3.5 3.5 0 0 1 2 22.5v-12A3.5 3.5 0 0 1 5.5 7z" fill="#c8d0dc"/>';

/** The SVG face of an English label name (a balloon for labels we do not draw), decorative: aria-hidden. */
export function faceSvg(englishName: string | null): string {
  const body = (englishName && FACES[englishName]) ?? BALLOON;
  return `<svg class="face-svg" viewBox="0 0 36 36" aria-hidden="true" focusable="false">${body}</svg>`;
}
