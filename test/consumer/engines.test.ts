/**
 * The Node versions in package.json's `engines` are the ones the installed tree accepts, so `npm ci` prints no
 * EBADENGINE: every runtime package's own `engines.node` allows every version ours allows (`overrides` pins the
 * two fastify dependencies whose latest majors ask for Node 22, docs/packaging.md), and every development package
 * accepts the oldest version ours allows and the Node running the tests (CI's).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { expect, it } from 'vitest';

const read = (file: string) =>
  JSON.parse(readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8'));
const pkg = read('package.json') as { engines: { node: string } };
const lock = read('package-lock.json') as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } | string[] }>;
};

it("every package in the lock accepts the Node versions package.json's engines promise", () => {
  const ours = pkg.engines.node;
  const oldest = semver.minVersion(ours)!.version;
  expect(semver.satisfies(process.version, ours), `this Node (${process.version}) is one we support`).toBe(true);
  const refused: string[] = [];
  for (const [path, info] of Object.entries(lock.packages)) {
    const theirs = Array.isArray(info.engines) ? undefined : info.engines?.node;
    if (!path || !theirs) continue;
    const fits = info.dev
      ? semver.satisfies(oldest, theirs) && semver.satisfies(process.version, theirs)
      : semver.subset(ours, theirs);
    if (!fits) refused.push(`${path}@${info.version} wants node ${theirs}${info.dev ? ' (dev)' : ''}`);
  }
  expect(refused, `packages that would print EBADENGINE for node ${ours}`).toEqual([]);
});
