/** The machine's load average (1, 5, 15 min) as benchmark tables print it: on a shared machine, what a run compares with. */
import { loadavg } from 'node:os';

export function loadAverage(): string {
  return loadavg()
    .map((v) => v.toFixed(1))
    .join(' ');
}
