/**
 * The system tools some tests need (chromium, redis-server, ffmpeg, sox). Without one, a developer's run skips those
 * tests with a note; with `CI` set, a missing tool fails the run instead (.ci/run installs them all), so a broken
 * install cannot pass CI by skipping what it cannot run.
 */
import { execFileSync } from 'node:child_process';

/** Whether the tests run under CI: the `CI` variable set to anything but '', '0' or 'false'. */
export const IN_CI = !['', '0', 'false'].includes((process.env.CI ?? '').toLowerCase());

/**
 * `present`, after failing the run under CI when it is false: the error names the tool and how to install it.
 * Called once per tool when a test helper module loads.
 */
export function systemTool(name: string, present: boolean, install: string): boolean {
  if (!present && IN_CI)
    throw new Error(`${name} is not installed, and CI is set: the tests that need it must run, not skip. ${install}`);
  return present;
}

/** Whether `command --version`-style probing runs (exit status 0). */
export function runs(command: string, args: readonly string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
