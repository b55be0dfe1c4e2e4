/**
 * The names of a label, as results show it. tokens.txt writes a label as "开心/happy" (Chinese/English) and the
 * "unknown" class as `<unk>`; results (result.json, the REST answer, the page, timelines) name each label by its
 * English name, the WebUI's key: "happy", and "unknown" (未知) for `<unk>`. The library's `top.label` stays
 * tokens.txt's own text, as upstream reports it; `top.name` is the name results use.
 */

/** A label split into its names. */
export interface LabelNames {
  /** The label exactly as tokens.txt (or a trained head) has it: "开心/happy", "<unk>". */
  readonly label: string;
  /** English name ("happy"; "unknown" for `<unk>`). */
  readonly en: string;
  /** Chinese name ("开心"; "未知" for `<unk>`), or null when the label gives none. */
  readonly zh: string | null;
}

/** tokens.txt's name of the "unknown" class. */
export const UNKNOWN_TOKEN = '<unk>';

/** Names of a tokens.txt label: "中立/neutral" -> zh 中立, en neutral; "<unk>" -> unknown, 未知. */
export function labelNames(label: string): LabelNames {
  if (label === UNKNOWN_TOKEN) return { label, en: 'unknown', zh: '未知' };
  const slash = label.indexOf('/');
  return slash < 0 ? { label, en: label, zh: null } : { label, zh: label.slice(0, slash), en: label.slice(slash + 1) };
}

/**
 * The name results use for each label, in order (the keys of a record's `scores`): its English name, kept as
 * written (the emotion2vec+ labels are lowercase: angry, disgusted, ..., unknown). Names must be unique to key
 * an object, so labels whose English names collide (a trained head with "开心/happy" and "happy") are named by
 * their full label instead, and labels still equal after that get `#<index>`.
 */
export function labelKeys(labels: readonly string[]): string[] {
  const english = labels.map((label) => labelNames(label).en);
  const named = english.map((name, i) => (english.indexOf(name) !== english.lastIndexOf(name) ? labels[i]! : name));
  return named.map((name, i) => (named.indexOf(name) !== named.lastIndexOf(name) ? `${name}#${i}` : name));
}
