/**
 * A private redis-server for one test file: 127.0.0.1, no persistence, stopped by the PID this helper started.
 * Redis cannot be asked for a free port (`--port 0` turns TCP off), and a port probed free and closed again can be
 * taken before Redis binds it; so Redis binds a random port itself, and when it reports the port in use another one
 * is tried. Tests skip with a note when redis-server is not installed (Debian: `apt-get install redis-server`),
 * and fail under CI (test/support/system-tools.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { runs, systemTool } from '../support/system-tools.js';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
export const HAS_REDIS = systemTool(
  REDIS_SERVER,
  runs(REDIS_SERVER, ['--version']),
  'Install it (apt-get install redis-server) or set REDIS_SERVER.',
);

export interface TestRedis {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Ports tried, from the range the OS does not hand out for outgoing connections (Linux: 32768-60999). */
const PORT_RANGE = { from: 20_000, to: 32_000 };
const ATTEMPTS = 20;

export async function startRedis(): Promise<TestRedis> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    const started = await startOn(port);
    if ('child' in started)
      return { url: `redis://127.0.0.1:${port}`, pid: started.child.pid!, stop: () => stopChild(started.child) };
    lastError = started.error;
    if (!started.portInUse) break;
  }
  throw lastError ?? new Error('redis-server did not start');
}

/** Redis on `port`, once it says it is ready; or why not, and whether it was only the port. */
function startOn(port: number): Promise<{ child: ChildProcess } | { error: Error; portInUse: boolean }> {
  const child = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve) => {
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child });
      }
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ error: new Error(`redis-server did not start in 10 s: ${output.slice(-500)}`), portInUse: false });
    }, 10_000);
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      resolve({
        error: new Error(`redis-server exited with ${code}: ${output.slice(-500)}`),
        portInUse: /address already in use/i.test(output),
      });
    };
    child.on('exit', onExit);
  });
}

/** SIGTERM to this one child, SIGKILL if it has not exited after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
