/**
 * Which hosts a job URL may reach. Anyone who can post a job could otherwise make a worker (inside the network)
 * fetch from 127.0.0.1, the private network or a cloud's metadata address (169.254.169.254) and learn from its
 * answers: a server-side request forgery. So a URL's host is resolved first and every address it resolves to is
 * checked against the loopback, private, link-local and other special ranges; the connection is then made to the
 * checked address itself (a lookup function that answers with it), so a second resolution cannot swap in another,
 * and each redirect is checked the same way. Hosts or ranges a deployment does want its workers to reach (a
 * storage server on the private network) are named in an allow-list (`--allow-url-hosts`; `*` turns the check off).
 */
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup } from 'node:dns';
import { UsageError, quote } from '../errors.js';

/** Hosts job URLs may reach although they resolve to special addresses. */
export interface UrlPolicy {
  /** Host names, addresses or CIDR ranges (`storage.internal`, `10.0.0.0/8`, `::1`); `*` allows any host. */
  readonly allowHosts?: readonly string[];
}

/** IANA's special-purpose ranges: no job URL reaches them unless allowed. */
const SPECIAL = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  SPECIAL.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64: an IPv4 address inside
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4: an IPv4 address inside
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const)
  SPECIAL.addSubnet(network, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`), else the address as is. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** True for an address in a loopback, private, link-local or other special-purpose range. */
export function isSpecialAddress(address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  if (family === 0) return true; // not an address at all: never connect to it blindly
  return SPECIAL.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/** The allow-list as a check of a host name and its address. */
function allowed(policy: UrlPolicy): (host: string, address: string) => boolean {
  const entries = policy.allowHosts ?? [];
  if (entries.includes('*')) return () => true;
  const names = new Set<string>();
  const ranges = new BlockList();
  for (const entry of entries) {
    const [network, prefix] = entry.trim().split('/');
    const family = isIP(network ?? '');
    if (family === 0) names.add(entry.trim().toLowerCase());
    else if (prefix === undefined) ranges.addAddress(network!, family === 4 ? 'ipv4' : 'ipv6');
    else ranges.addSubnet(network!, Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
  }
  return (host, address) => {
    const plain = unmapped(address);
    const family = isIP(plain);
    return names.has(host.toLowerCase()) || (family !== 0 && ranges.check(plain, family === 4 ? 'ipv4' : 'ipv6'));
  };
}

function refused(url: string, host: string, address: string): UsageError {
  return new UsageError(
    'URL_NOT_ALLOWED',
    `${quote(url, 200)} is not fetched: its host ${quote(host, 80)} is at ${address}, a loopback, private, link-local ` +
      'or other special address. Use a public URL, or name the host in --allow-url-hosts (allowHosts) if the workers ' +
      'should reach it.',
    { details: { host, address } },
  );
}

/** A URL's host as a name or address (IPv6 without its brackets). */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Checks a URL before it is queued: an address in it, or every address its host resolves to now. A host that
 * does not resolve is left to the worker, which checks again when it connects (and fails or retries there).
 * @throws UsageError `URL_NOT_ALLOWED`.
 */
export async function checkUrlHost(url: string, policy: UrlPolicy = {}): Promise<void> {
  const parsed = new URL(url);
  const host = hostOf(parsed);
  const isAllowed = allowed(policy);
  const addresses =
    isIP(host) !== 0
      ? [host]
      : await new Promise<string[]>((resolve) =>
          lookup(host, { all: true, verbatim: true }, (error, found) =>
            resolve(error ? [] : found.map((entry) => entry.address)),
          ),
        );
  for (const address of addresses)
    if (isSpecialAddress(address) && !isAllowed(host, address)) throw refused(url, host, address);
}

/**
 * For a connection to `url`: the address check of a URL whose host is an address (no lookup happens for it), and
 * the lookup function Node's http client is to use for a name: it resolves the name, refuses it when any address
 * is special (and not allowed), and hands back only the addresses it checked, so the socket connects to one of
 * them.
 */
export function connectionGuard(url: URL, policy: UrlPolicy = {}): { lookup: LookupFunction } {
  const host = hostOf(url);
  const isAllowed = allowed(policy);
  if (isIP(host) !== 0 && isSpecialAddress(host) && !isAllowed(host, host)) throw refused(url.href, host, host);
  const guarded = (
    hostname: string,
    options: { all?: boolean; family?: number | string },
    callback: (error: Error | null, address: string | { address: string; family: number }[], family?: number) => void,
  ) => {
    lookup(hostname, { all: true, verbatim: true }, (error, found) => {
      if (error) return callback(error, options.all ? [] : '', 0);
      const bad = found.find((entry) => isSpecialAddress(entry.address) && !isAllowed(hostname, entry.address));
      if (bad) return callback(refused(url.href, hostname, bad.address), options.all ? [] : '', 0);
      if (options.all) return callback(null, found);
      const first = found[0]!;
      callback(null, first.address, first.family);
    });
  };
  return { lookup: guarded as unknown as LookupFunction };
}
