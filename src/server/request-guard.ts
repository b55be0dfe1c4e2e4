/**
 * Which requests a server on a laptop answers at all. A web page on another site can make the browser send
 * requests to 127.0.0.1: by a DNS name that the attacker points at 127.0.0.1 after the page loaded (DNS
 * rebinding: the request carries the attacker's name in `Host`), or by a form or fetch posted across sites (its
 * `Origin` is the other site). So by default `Host` must be one of the server's own names (an IP address,
 * `localhost`, this machine's name) and `Origin`, when a browser sends one, must be the server itself. A
 * deployment behind a proxy that rewrites `Host`, or a page on another origin that should call the API, names
 * them with `allowedHosts` / `allowedOrigins` (`--allowed-hosts`, `--allowed-origins`; `*` turns a check off).
 */
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { UsageError, quote } from '../errors.js';

export interface RequestGuardOptions {
  /** Host names accepted besides IP addresses, `localhost` and this machine's name; `*` accepts any. */
  readonly allowedHosts?: readonly string[];
  /** Origins (`https://app.example.org`) accepted besides the server's own; `*` accepts any. */
  readonly allowedOrigins?: readonly string[];
}

/** The check run on every request: throws the error to answer (403) for a request from elsewhere. */
export type RequestGuard = (headers: { host?: string; origin?: string }) => void;

/** The host name of a `Host` header value, lower case, without port or IPv6 brackets ('' when malformed). */
export function hostOf(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  const colon = value.lastIndexOf(':');
  return (colon >= 0 && value.indexOf(':') === colon ? value.slice(0, colon) : value).replace(/\.$/, '');
}

export function requestGuard(options: RequestGuardOptions = {}): RequestGuard {
  const hosts = new Set((options.allowedHosts ?? []).map((name) => name.trim().toLowerCase().replace(/\.$/, '')));
  const origins = new Set((options.allowedOrigins ?? []).map((origin) => origin.trim().replace(/\/$/, '')));
  const machine = hostname().toLowerCase();
  const ownName = (name: string) =>
    isIP(name) !== 0 ||
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === machine ||
    name === `${machine}.local` ||
    hosts.has(name);

  return ({ host, origin }) => {
    if (!hosts.has('*')) {
      const name = hostOf(host ?? '');
      if (!ownName(name)) {
        throw new UsageError(
          'REQUEST_HOST_NOT_ALLOWED',
          `This server does not answer requests for the host ${quote(host ?? '', 80)}: it answers for its IP ` +
            "addresses, localhost and this machine's name. Behind a proxy or under another DNS name, start it with " +
            '--allowed-hosts <name,...> (allowedHosts).',
        );
      }
    }
    if (origin === undefined || origins.has('*') || origins.has(origin)) return;
    if (!sameOrigin(origin, host)) {
      throw new UsageError(
        'REQUEST_ORIGIN_NOT_ALLOWED',
        `This server does not answer requests sent by pages of ${quote(origin, 80)}, only its own page. To let ` +
          'another site call the API, start it with --allowed-origins <origin,...> (allowedOrigins).',
      );
    }
  };
}

/** True when `origin` (scheme://host[:port]) names the host and port the request was sent to. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false; // "null" (a sandboxed frame, a file: page) and anything malformed
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
  return parsed.host.toLowerCase() === host.trim().toLowerCase();
}
