/**
 * The processing log, as the WebUI keeps one: what was done for the current run, each step with the time since the
 * run began, so a slow step (upload, model download, inference) is plain to see.
 */
export class ProcessingLog {
  private started = performance.now();

  constructor(private readonly list: HTMLOListElement) {}

  /** Empties the log for a new run; times count from now. */
  begin(): void {
    this.started = performance.now();
    this.list.replaceChildren();
  }

  /** Adds a step: `tag` a short bilingual name ("上传 upload"), `text` what happened. */
  add(tag: string, text: string, kind: 'info' | 'error' = 'info'): void {
    const item = document.createElement('li');
    item.dataset.kind = kind;
    const time = document.createElement('span');
    time.className = 'time';
    time.textContent = `${((performance.now() - this.started) / 1000).toFixed(2)} s`;
    const name = document.createElement('span');
    name.className = 'tag';
    name.textContent = tag;
    item.append(time, name, document.createTextNode(text));
    this.list.append(item);
  }
}

/** Bytes for people: 950 B, 13.6 KB, 2.4 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
