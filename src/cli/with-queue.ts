/** The queue session of the `enqueue` and `status` commands: connect, open the queue, run, always close. */
import type { Queue } from 'bullmq';
import { connectRedis, openQueue } from '../queue/connection.js';
import { reportFatal } from './output.js';

/**
 * Runs `body` on the named queue at `redisUrl` and returns its exit code. A failure to connect, or an error thrown
 * by `body`, is reported on stderr and exits 2; the queue and the connection are closed either way.
 */
export async function withQueue(
  redisUrl: string,
  queueName: string,
  body: (queue: Queue) => Promise<number>,
): Promise<number> {
  let redis;
  try {
    redis = await connectRedis(redisUrl);
  } catch (error) {
    reportFatal(error);
    return 2;
  }
  const queue = openQueue(redis, queueName);
  try {
    return await body(queue);
  } catch (error) {
    reportFatal(error);
    return 2;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}
