/** Runs the real CLI (src/cli/main.ts through tsx) as a child process, as a user would. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
}

const ARGS = ['--import', 'tsx', 'src/cli/main.ts'];

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...ARGS, ...args],
      { cwd: root, maxBuffer: 64 * 2 ** 20, env: { ...process.env, ...options.env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts the CLI and hands back the child (for signals) and its result once it exits. */
export function startCli(
  args: string[],
  options: CliOptions = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [...ARGS, ...args], { cwd: root, env: { ...process.env, ...options.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return { child, result };
}
