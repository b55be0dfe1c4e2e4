/**
 * The Redis connection every queue part shares: one URL (`redis://[:password@]host:port[/db]` or `rediss://` for
 * TLS) and one queue name, so the producer, the workers, `status` and the HTTP routes always meet in one place.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { printable, UsageError } from '../errors.js';

/** The BullMQ queue all commands use unless `--queue` names another (one queue per run keeps runs apart). */
export const DEFAULT_QUEUE_NAME = 'emotion2vec';

/** How long a command waits for Redis to answer before it says so, rather than hanging. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Checks a `--redis` URL and a queue name before anything connects, with a message that names the fix. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `--redis must be a URL such as redis://127.0.0.1:6379, got "${url.slice(0, 200)}".`,
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `--redis must start with redis:// or rediss:// (TLS), got "${parsed.protocol}".`,
    );
  }
  return parsed;
}

/** BullMQ keys use ':' as separator, so a queue name may not contain one. */
export function checkQueueName(name: string): string {
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
    throw new UsageError(
      'INVALID_ARGUMENT',
      `A queue name is 1 to 100 letters, digits, '.', '_' or '-', got "${name.slice(0, 100)}".`,
    );
  }
  return name;
}

/**
 * An ioredis client for BullMQ. `maxRetriesPerRequest: null` is what BullMQ requires (its blocking commands must
 * wait through reconnects); a worker survives a Redis restart by reconnecting on its own.
 */
export function createRedis(url: string): Redis {
  parseRedisUrl(url);
  return new Redis(url, { maxRetriesPerRequest: null, connectTimeout: CONNECT_TIMEOUT_MS, lazyConnect: true });
}

/** Connects and pings once, so a wrong URL or a stopped server is a typed error at start, not a silent hang. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = createRedis(url);
  // ioredis reports the cause (ECONNREFUSED, ENOTFOUND, NOAUTH...) as an 'error' event; connect() only says "closed".
  let cause: Error | undefined;
  redis.on('error', (error: Error) => (cause ??= error));
  try {
    await withTimeout(
      redis.connect().then(() => redis.ping()),
      CONNECT_TIMEOUT_MS,
    );
  } catch (error) {
    redis.disconnect();
    const reason = String((cause ?? (error as Error))?.message ?? error)
      .slice(0, 200)
      .replace(/\.$/, '');
    throw new UsageError(
      'QUEUE_UNAVAILABLE',
      `Cannot reach Redis at ${redactPassword(url)} (${reason}). Start redis-server there or fix --redis.`,
      { cause: cause ?? error },
    );
  }
  return redis;
}

/**
 * Logs a connection's outages, one line when it goes down and one when it is back, instead of one (with a stack)
 * per reconnect attempt; ioredis reconnects on its own meanwhile.
 */
export function watchRedis(redis: Redis, log: (line: string) => void): void {
  let down = false;
  redis.on('error', (error: Error) => {
    if (down) return;
    down = true;
    log(`Redis unavailable (${printable(String(error?.message ?? error)).slice(0, 200)}); reconnecting`);
  });
  redis.on('ready', () => {
    if (down) log('Redis is back');
    down = false;
  });
}

/** The queue of analysis jobs on an open connection. */
export function openQueue(redis: Redis, name = DEFAULT_QUEUE_NAME): Queue {
  return new Queue(checkQueueName(name), { connection: redis });
}

/** The URL without its password, for messages and logs. */
export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(invalid URL)';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
