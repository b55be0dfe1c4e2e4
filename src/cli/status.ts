/**
 * `emotion2vec status --redis <url> [--json] [--output-dir <dir>]`: job counts, the dead-lettered keys with their
 * error codes, and, with --output-dir once the run is done, `<dir>/summary.csv`.
 */
import { printable } from '../results/folder.js';
import { readQueueStatus, writeRunSummary, type QueueStatus, type RunSummary } from '../queue/status.js';
import { withQueue } from './with-queue.js';

export interface StatusCommandOptions {
  readonly redis: string;
  readonly queue: string;
  readonly json: boolean;
  readonly outputDir?: string;
}

/** Dead-lettered keys listed in the human-readable output (all of them with --json). */
const SHOWN_FAILURES = 20;

export async function status(options: StatusCommandOptions): Promise<number> {
  return withQueue(options.redis, options.queue, async (queue) => {
    const state = await readQueueStatus(queue);
    const summary = state.done && options.outputDir ? await writeRunSummary(queue, options.outputDir) : undefined;
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ ...state, ...(summary ? { summary: summary.path } : {}) })}\n`
        : humanReadable(state, summary),
    );
    return 0;
  });
}

function humanReadable(state: QueueStatus, summary: RunSummary | undefined): string {
  const total = state.waiting + state.active + state.delayed + state.completed + state.failed;
  const lines = [
    `queue ${state.queue}: ${state.completed + state.failed}/${total} finished — ${state.waiting} waiting, ${state.active} active, ${state.delayed} retrying, ${state.completed} completed, ${state.failed} dead-lettered${state.done ? ' (done)' : ''}`,
  ];
  for (const failure of state.failedKeys.slice(0, SHOWN_FAILURES))
    lines.push(`  ${printable(failure.key)}: ${failure.code}: ${printable(failure.message).slice(0, 200)}`);
  if (state.failedKeys.length > SHOWN_FAILURES)
    lines.push(`  ... and ${state.failedKeys.length - SHOWN_FAILURES} more (--json lists them all)`);
  if (summary)
    lines.push(
      `summary: ${summary.path}${summary.missing.length ? ` (${summary.missing.length} completed results are not in this folder)` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}
