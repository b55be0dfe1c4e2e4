/**
 * Progress of one analysis, without help from the server (its answer is one JSON document at the end): what is
 * measured is shown as measured (bytes uploaded, model files fetched), and the model's own work as the time spent
 * against an estimate: the audio's duration times the speed this browser measured on its last runs with the same
 * model and mode. The first run has no estimate and says so.
 */

/** Seconds of work per second of audio, remembered per model and mode (localStorage, when the page may use it). */
export class SpeedMemory {
  private readonly prefix = 'emotion2vec-speed:';

  /** Seconds of work `audioSeconds` of audio should take, or null before the first measured run. */
  estimate(key: string, audioSeconds: number): number | null {
    const rate = Number(this.read(key));
    return rate > 0 && audioSeconds > 0 ? rate * audioSeconds : null;
  }

  /** Records a run; the estimate follows the recent runs (half the weight on the newest). */
  remember(key: string, audioSeconds: number, workSeconds: number): void {
    if (!(audioSeconds > 0) || !(workSeconds > 0)) return;
    const rate = workSeconds / audioSeconds;
    const previous = Number(this.read(key));
    this.write(key, String(previous > 0 ? (previous + rate) / 2 : rate));
  }

  private read(key: string): string | null {
    try {
      return localStorage.getItem(this.prefix + key);
    } catch {
      return null; // storage off (private mode, sandboxed frame): no estimates, nothing breaks
    }
  }

  private write(key: string, value: string): void {
    try {
      localStorage.setItem(this.prefix + key, value);
    } catch {
      // as above
    }
  }
}

/** The progress bar and its line of text. */
export class ProgressView {
  private ticker: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly container: HTMLElement,
    private readonly bar: HTMLProgressElement,
    private readonly text: HTMLElement,
  ) {}

  /** A measured step: `fraction` of it done (null: unknown, the bar moves without a value). */
  measured(phase: string, label: string, fraction: number | null): void {
    this.stopTicking();
    this.show(phase);
    this.setBar(fraction);
    this.text.textContent = label;
  }

  /**
   * Work that reports nothing until it ends: the time spent, against `estimateSeconds` when there is one, ticking
   * until the next step or {@link done}.
   */
  timed(phase: string, label: string, estimateSeconds: number | null): void {
    this.stopTicking();
    this.show(phase);
    const started = performance.now();
    const tick = () => {
      const elapsed = (performance.now() - started) / 1000;
      let detail: string;
      if (estimateSeconds === null) {
        detail = `${elapsed.toFixed(1)} s (no estimate yet: this browser has not timed this model here before)`;
        this.setBar(null);
      } else if (elapsed < estimateSeconds) {
        detail = `${elapsed.toFixed(1)} s, about ${Math.ceil(estimateSeconds - elapsed)} s left (estimate from the last runs)`;
        this.setBar(Math.min(0.95, elapsed / estimateSeconds));
      } else {
        detail = `${elapsed.toFixed(1)} s, longer than the ${estimateSeconds.toFixed(1)} s estimated`;
        this.setBar(0.95);
      }
      this.text.textContent = `${label} · ${detail}`;
    };
    tick();
    this.ticker = setInterval(tick, 250);
  }

  /** Hides the bar (the run ended, well or not). */
  done(): void {
    this.stopTicking();
    this.container.hidden = true;
    this.container.dataset.phase = 'done';
    this.text.textContent = '';
  }

  private show(phase: string): void {
    this.container.hidden = false;
    this.container.dataset.phase = phase;
  }

  private setBar(fraction: number | null): void {
    if (fraction === null) this.bar.removeAttribute('value');
    else this.bar.value = fraction;
  }

  private stopTicking(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
  }
}
