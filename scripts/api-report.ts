/**
 * The API report: what each package entry exports, with every type it exposes, as API Extractor writes it
 * (etc/<entry>.api.md). `npm test` checks that the committed reports match the sources, so a change to the public
 * API is always deliberate and visible in review:
 *
 *   npx tsx scripts/api-report.ts            # check (fails, naming the entry, when the API changed)
 *   npx tsx scripts/api-report.ts --update   # rewrite etc/*.api.md after a deliberate change
 */
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BUILD = join(ROOT, '.api-build');
const ENTRIES = ['index', 'node', 'browser'];
const update = process.argv.includes('--update');

rmSync(BUILD, { recursive: true, force: true });
execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.api.json')], { stdio: 'inherit' });

let changed = 0;
for (const entry of ENTRIES) {
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: ROOT,
      mainEntryPointFilePath: join(BUILD, `${entry}.d.ts`),
      compiler: { tsconfigFilePath: join(ROOT, 'tsconfig.api.json') },
      apiReport: {
        enabled: true,
        reportFileName: `${entry}.api.md`,
        reportFolder: join(ROOT, 'etc'),
        reportTempFolder: join(BUILD, 'temp'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        // The report is about what is exported; release tags and TSDoc style are not checked.
        extractorMessageReporting: {
          default: { logLevel: ExtractorLogLevel.None },
          'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
        },
        tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      },
    },
    configObjectFullPath: join(ROOT, 'tsconfig.api.json'),
    packageJsonFullPath: join(ROOT, 'package.json'),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => (m.handled = true),
  });
  if (result.apiReportChanged) {
    changed++;
    console.error(
      update
        ? `etc/${entry}.api.md updated`
        : `The public API of the ${entry} entry changed (compare etc/${entry}.api.md with ${join('.api-build/temp', `${entry}.api.md`)}). ` +
            'If the change is deliberate, run `npm run api:update` and commit etc/.',
    );
  }
}
if (changed > 0 && !update) process.exit(1);
if (changed === 0) console.log(`API reports match (${ENTRIES.map((e) => `etc/${e}.api.md`).join(', ')})`);
