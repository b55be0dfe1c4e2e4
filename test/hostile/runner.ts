/**
 * Runs the real CLI (src/cli/main.ts) in this process and, on exit, writes its peak resident memory and CPU time to
 * the file
 * named by the first argument: `node --import tsx test/hostile/runner.ts <report.json> analyze ...`.
 */
import { writeFileSync } from 'node:fs';

const [report, ...args] = process.argv.slice(2);
process.argv = [process.argv[0]!, 'emotion2vec', ...args];
process.on('exit', (code) => {
  // maxRSS (KiB) is the peak over the whole life of the process; CPU time, unlike wall time, does not depend on
  // how busy the machine is.
  const usage = process.resourceUsage();
  writeFileSync(
    report!,
    JSON.stringify({
      code,
      maxRssMiB: usage.maxRSS / 1024,
      cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    }),
  );
});
await import('../../src/cli/main.js');
