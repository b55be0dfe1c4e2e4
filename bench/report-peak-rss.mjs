// Preloaded into a benchmarked process (node --import): writes its peak RSS (getrusage maxrss, KiB) to $PEAK_RSS_FILE at exit.
import { writeFileSync } from 'node:fs';

process.on('exit', () => writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS)));
