/**
 * Output folder names from hostile input names. An input's key (a wav.scp key, a file name, an upload's name)
 * becomes one path segment that cannot leave its folder, cannot name a device or a hidden file, and fits every
 * common file system. `safeOutputName` is idempotent: a safe name maps to itself.
 */
import { createHash } from 'node:crypto';
export { printable } from '../errors.js';

/** Longest name, in UTF-8 bytes: below the 255 of ext4/APFS/NTFS, leaving room for `-2` suffixes and temp names. */
export const MAX_OUTPUT_NAME_BYTES = 120;

/** Windows device names, reserved with any extension ("con.txt") and in any case. */
const RESERVED_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\..*)?$/i;
/** Separators, characters Windows refuses, C0/C1 controls and Unicode format/separator controls (bidi overrides...). */
// eslint-disable-next-line no-control-regex
const UNSAFE_CHARACTERS =
  /[/\\<>:"|?*\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * One safe path segment for `name`: unsafe characters and runs of dots become `_`, leading dots and spaces become `_`
 * (no `.`, `..` or hidden folders), trailing dots and spaces are dropped (Windows drops them itself, which would merge
 * two
 * names), device names get a `_` prefix, and a name over {@link MAX_OUTPUT_NAME_BYTES} is cut and given a short
 * hash of the whole name so that two long names with a common start stay apart. An empty result is `input`.
 */
export function safeOutputName(name: string): string {
  let safe = String(name).normalize('NFC').replace(UNSAFE_CHARACTERS, '_');
  // Dot runs (`..` anywhere, not only whole-name) become `_` too: harmless inside one segment, but alarming to read.
  safe = safe.replace(/\.{2,}/g, (dots) => '_'.repeat(dots.length));
  safe = safe.replace(/^[. ]+/, (lead) => '_'.repeat(lead.length)).replace(/[. ]+$/, '');
  if (safe.length === 0) return 'input';
  if (RESERVED_DEVICE.test(safe)) safe = `_${safe}`;
  if (utf8Length(safe) > MAX_OUTPUT_NAME_BYTES) {
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
    safe = `${truncateUtf8(safe, MAX_OUTPUT_NAME_BYTES - hash.length - 1).replace(/[. ]+$/, '')}-${hash}`;
  }
  return safe;
}

/**
 * Unique folder names for a run: each key made safe, and a name already taken (compared ignoring case, as macOS
 * and Windows do) gets the first free `-2`, `-3`... `reserved` names (e.g. `summary.csv`) are never handed out.
 * The same keys in the same order always give the same names, which `--resume` relies on.
 */
export function uniqueOutputNames(keys: readonly string[], reserved: readonly string[] = []): string[] {
  const taken = new Set(reserved.map((name) => name.toLowerCase()));
  return keys.map((key) => {
    const stem = safeOutputName(key);
    let name = stem;
    for (let suffix = 2; taken.has(name.toLowerCase()); suffix++) name = safeOutputName(`${stem}-${suffix}`);
    taken.add(name.toLowerCase());
    return name;
  });
}

/**
 * A folder name for one input with no run to be unique in (a job posted on its own): the key made safe and cut to
 * 80 characters, then 8 hex digits of the sha256 of the whole `input`, so two inputs with one file name never share
 * a folder and the same input always gets the same one.
 */
export function hashedOutputName(key: string, input: string): string {
  const hash = createHash('sha256').update(input).digest('hex').slice(0, 8);
  return safeOutputName(`${safeOutputName(key).slice(0, 80)}-${hash}`);
}

function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, never splitting a character. */
function truncateUtf8(text: string, bytes: number): string {
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (used + size > bytes) break;
    out += char;
    used += size;
  }
  return out;
}
