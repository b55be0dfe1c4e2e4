/**
 * Progress on stderr (stdout stays for results): cli-progress bars on a terminal, plain lines otherwise (logs,
 * CI), never both. Model loading shows bytes per file; a run shows inputs done with an ETA.
 */
import cliProgress from 'cli-progress';
import type { LoadProgress, ProgressCallback } from '../hub/progress.js';
import { printable } from '../results/safe-name.js';

export interface LoadProgressDisplay {
  readonly callback: ProgressCallback;
  stop(): void;
}

const MIB = 2 ** 20;

/** Shows model download / conversion progress. */
export function loadProgressDisplay(stream: NodeJS.WriteStream = process.stderr): LoadProgressDisplay {
  const tty = stream.isTTY === true;
  let bar: cliProgress.SingleBar | null = null;
  let barFile = '';
  let lastTenth = -1;
  const stopBar = () => {
    bar?.stop();
    bar = null;
  };
  const callback = (event: LoadProgress) => {
    if (event.status !== 'download') {
      stopBar();
      if (event.status === 'converting')
        stream.write('converting the model (once; later loads read the converted copy)\n');
      return;
    }
    const total = event.total ?? 0;
    if (tty) {
      if (!bar || barFile !== event.file) {
        stopBar();
        barFile = event.file;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: `${printable(event.file).padEnd(12)} [{bar}] {percentage}% {loadedMiB}/{totalMiB} MiB  ETA {eta_formatted}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(Math.max(total, 1), 0, { loadedMiB: '0.0', totalMiB: (total / MIB).toFixed(1) });
        lastTenth = -1;
      }
      bar.update(event.loaded, { loadedMiB: (event.loaded / MIB).toFixed(1), totalMiB: (total / MIB).toFixed(1) });
      return;
    }
    // Plain lines: one per 10% of a file (or the end, when the size is unknown).
    const tenth = total > 0 ? Math.floor((event.loaded / total) * 10) : event.loaded === 0 ? 0 : -1;
    if (barFile !== event.file) {
      barFile = event.file;
      lastTenth = -1;
    }
    if (tenth > lastTenth) {
      lastTenth = tenth;
      stream.write(
        `downloading ${printable(event.file)}: ${(event.loaded / MIB).toFixed(1)}${total > 0 ? ` of ${(total / MIB).toFixed(1)}` : ''} MiB\n`,
      );
    }
  };
  return { callback, stop: stopBar };
}

export interface RunProgress {
  /** One more input finished. */
  tick(): void;
  /** Prints a result on stdout; above the bar when both share the terminal. */
  print(text: string): void;
  stop(): void;
}

/** Inputs done out of `total`, with an ETA, on a terminal only (elsewhere each result line is progress enough). */
export function runProgress(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  out: NodeJS.WriteStream = process.stdout,
): RunProgress {
  const plain: RunProgress = { tick: () => undefined, print: (text) => void out.write(text), stop: () => undefined };
  if (stream.isTTY !== true || total < 2) return plain;
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: 'analyze [{bar}] {value}/{total} inputs  {duration_formatted} elapsed, ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = bars.create(total, 0);
  return {
    tick: () => bar.increment(),
    // Writing to the terminal under a live bar would be overdrawn: MultiBar.log prints above it.
    print: (text) => (out.isTTY === true ? bars.log(text) : void out.write(text)),
    stop: () => bars.stop(),
  };
}
