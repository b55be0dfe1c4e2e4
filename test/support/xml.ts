/** A check that SVG text is well-formed XML, as far as text from labels and names could break it. */
import { expect } from 'vitest';

/**
 * Only characters XML 1.0 allows, `&` only in the five predefined entities, no `<` in text or attribute values, and
 * balanced tags.
 */
export function expectWellFormedXml(xml: string): void {
  // eslint-disable-next-line no-control-regex
  expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/);
  expect([...xml].some((ch) => /[\uD800-\uDFFF]/.test(ch))).toBe(false);
  expect(xml.replace(/&(lt|gt|amp|quot|apos);/g, '')).not.toContain('&');
  const stack: string[] = [];
  for (const [, close, name, body] of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^<>]*)>/g)) {
    expect(body, `attributes of <${name}>`).not.toMatch(/<|[^=\s]"[^\s/>]/);
    if (close) expect(stack.pop()).toBe(name);
    else if (!body!.endsWith('/')) stack.push(name!);
  }
  expect(stack).toEqual([]);
  expect(xml.replace(/<[^<>]*>/g, '')).not.toMatch(/[<>]/);
}
