/**
 * The real CLI in a child process (test/hostile/runner.ts), with its peak memory and CPU time, and the bounds every
 * hostile case must end within:
 * - peak resident memory (process.resourceUsage().maxRSS) under MAX_RSS_MIB; a good run takes about 280 MiB
 *   (190 MiB with EMOTION2VEC_WASM_THREADS=0: the default threaded wasm adds two worker heaps), the worst bounded
 *   case (a million-deep pickle) about 430 MiB, and the unfixed cases took 2 to 15 GB;
 * - CPU time under MAX_CPU_SECONDS; a good run takes about 3 s (CPU time, not wall time, because the test machine
 *   may be shared: wall time only guards against a hang, HANG_SECONDS);
 * - error messages on stderr under MAX_STDERR_CHARS.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

export const MAX_RSS_MIB = 512;
export const MAX_CPU_SECONDS = 15;
export const HANG_SECONDS = 150;
export const MAX_STDERR_CHARS = 3000;

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  maxRssMiB: number;
  cpuSeconds: number;
}

/**
 * The CLI in a child process, with its peak memory and CPU time as the runner reports them (into a report file in
 * `dir`); `env` adds variables.
 */
export function runCli(dir: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  const report = join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'test/hostile/runner.ts', report, ...args],
      {
        cwd: root,
        timeout: HANG_SECONDS * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 2 ** 20,
        env: { ...process.env, ...env },
      },
      (error, stdout, stderr) => {
        if (error?.killed)
          return reject(new Error(`the CLI did not end within ${HANG_SECONDS} s (hang): ${args.join(' ')}`));
        try {
          const usage = JSON.parse(readFileSync(report, 'utf8')) as {
            code: number;
            maxRssMiB: number;
            cpuSeconds: number;
          };
          // HOSTILE_LOG=<file> records each case's numbers (how docs/security.md's table was measured).
          if (process.env.HOSTILE_LOG) {
            const line = [
              args.map((arg) => (arg.startsWith(dir) ? relative(dir, arg) : arg)).join(' '),
              `${usage.maxRssMiB.toFixed(0)} MiB`,
              `${usage.cpuSeconds.toFixed(2)} s CPU`,
              stderr.trim().slice(0, 300),
            ].join(' | ');
            writeFileSync(process.env.HOSTILE_LOG, `${line}\n`, { flag: 'a' });
          }
          resolve({
            code: error ? Number(error.code) : 0,
            stdout,
            stderr,
            maxRssMiB: usage.maxRssMiB,
            cpuSeconds: usage.cpuSeconds,
          });
        } catch {
          reject(
            new Error(
              `the CLI died without a report (code ${error?.code}, signal ${error?.signal}): ${stderr.slice(-2000)}`,
            ),
          );
        }
      },
    );
  });
}

export function expectBounded(run: Run): void {
  expect(run.maxRssMiB, 'peak RSS (MiB)').toBeLessThan(MAX_RSS_MIB);
  expect(run.cpuSeconds, 'CPU seconds').toBeLessThan(MAX_CPU_SECONDS);
  expect(run.stderr.length, 'stderr length').toBeLessThan(MAX_STDERR_CHARS);
}
