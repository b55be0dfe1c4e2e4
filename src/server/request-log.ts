/**
 * The request log of `emotion2vec serve`: one line per answered request, `<ISO time> <method> <path> <status>
 * <ms>ms`, as the WebUI's server logs its requests. Nothing of the request's body or query (file contents, names,
 * option values) is logged, and the path is escaped for a terminal and capped: a client cannot forge log lines.
 */
import type { FastifyInstance } from 'fastify';
import { printable } from '../errors.js';

/** Longest path logged (longer ones are cut, with an ellipsis). */
const MAX_LOGGED_PATH = 200;

/** One log line (no newline). */
export function requestLogLine(method: string, url: string, status: number, milliseconds: number, at = new Date()) {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  const shown = printable(path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path);
  const verb = printable(method.slice(0, 16));
  return `${at.toISOString()} ${verb} ${shown} ${status} ${Math.round(milliseconds)}ms`;
}

/** Calls `write` with a line for every response the app sends (errors and 404s included). */
export function logRequests(app: FastifyInstance, write: (line: string) => void): void {
  app.addHook('onResponse', async (request, reply) => {
    write(requestLogLine(request.method, request.url, reply.statusCode, reply.elapsedTime));
  });
}
