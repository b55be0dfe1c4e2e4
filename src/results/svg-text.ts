/**
 * The one escaper of text put into SVG (timeline.svg, confusion.svg, the page's timeline chart): the characters
 * markup gives meaning to are escaped, and those XML 1.0 forbids outright (C0 controls other than tab, line feed and
 * carriage return; lone surrogates; U+FFFE and U+FFFF) become U+FFFD, so a label holding an escape or a NUL still
 * gives a well-formed file. Safe in element content and in quoted attribute values.
 */

const MARKUP: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

// eslint-disable-next-line no-control-regex
const FORBIDDEN_IN_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDFFF]/gu;

export function escapeSvgText(text: string): string {
  return String(text)
    .replace(FORBIDDEN_IN_XML, '\uFFFD')
    .replace(/[<>&"']/g, (ch) => MARKUP[ch]!);
}
