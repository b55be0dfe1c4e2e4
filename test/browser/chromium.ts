/**
 * Headless Chromium for the browser tests (test/browser, test/consumer): Debian's `chromium` driven by
 * playwright-core, a static server on 127.0.0.1, and tabs that collect their uncaught errors.
 * Set CHROMIUM_PATH to use another Chromium; callers skip (with a note) where none is installed, and fail under CI
 * (test/support/system-tools.ts).
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sirv from 'sirv';

import { systemTool } from '../support/system-tools.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAS_CHROMIUM = systemTool(
  `Chromium (${CHROMIUM})`,
  existsSync(CHROMIUM),
  'Install it (Debian: apt-get install chromium) or set CHROMIUM_PATH.',
);

/**
 * Starts headless Chromium with the flags these tests use (software WebGL2, no network of its own), plus `extraArgs`.
 */
export function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...extraArgs],
  });
}

/**
 * Serves folders by URL prefix ('/bundle/' -> a folder); the '' prefix catches the rest. `intercept` sees each
 * request first and returns true for one it answered itself (e.g. a fake model hub). Resolves to the origin.
 */
export async function serveFolders(
  routes: Record<string, string>,
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<{ server: Server; origin: string }> {
  const handlers = Object.entries(routes)
    .sort(([a], [b]) => b.length - a.length)
    .map(([prefix, folder]) => [prefix, sirv(folder, { dev: true })] as const);
  const server = createServer((req, res) => {
    if (intercept?.(req, res)) return;
    const match = handlers.find(([prefix]) => req.url?.startsWith(prefix));
    if (!match) return void res.writeHead(404).end();
    const [prefix, handler] = match;
    if (prefix) req.url = req.url!.slice(prefix.length - 1);
    handler(req, res, () => void res.writeHead(404).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/**
 * A new tab at `url`, ready once `globalName` exists; its uncaught errors are pushed to `errors`. A Browser gives
 * the tab a fresh context (its own Cache API storage); tabs of one BrowserContext share theirs.
 */
export async function openPage(
  target: Browser | BrowserContext,
  url: string,
  errors: string[],
  globalName = 'scenarios',
): Promise<Page> {
  const opened = await target.newPage();
  opened.on('pageerror', (error) => errors.push(error.message));
  await opened.goto(url);
  await opened.waitForFunction((name) => name in globalThis, globalName);
  return opened;
}

/** Calls `globalThis[globalName][scenario](...args)` inside `page` and returns its JSON result. */
export async function runScenario<T>(
  page: Page,
  scenario: string,
  args: unknown[] = [],
  globalName = 'scenarios',
): Promise<T> {
  return (await page.evaluate(
    ([name, scenarioName, scenarioArgs]) =>
      (globalThis as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>)[name]![scenarioName]!(
        ...scenarioArgs,
      ),
    [globalName, scenario, args] as [string, string, unknown[]],
  )) as T;
}
