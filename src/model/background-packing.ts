/**
 * Packs a loaded model's weight matrices in the background (ParameterSet.packNext: on wasm, XNNPACK's packed
 * copy replaces each unpacked one, src/backend/wasm/packed-weights.ts). Packing the large model takes about 3 s
 * (bench/packing.ts); done
 * one matrix per event-loop turn right after `load` returns, it happens while the application does other
 * things (starts a server, waits for speech), and the first prediction finishes whatever is left before it runs.
 */
import type { ParameterSet } from '../layers/parameters.js';

export class BackgroundPacking {
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly params: ParameterSet) {
    this.schedule();
  }

  /** Packs what is left, now (before a prediction). Throws what a pack throws. */
  finish(): void {
    this.cancel();
    this.params.packAll();
  }

  /** Stops packing in the background (the model is being disposed). */
  cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.timer = setTimeout(() => this.step(), 0);
    // A pending step never keeps Node alive: a script that loads a model and ends need not wait for it.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private step(): void {
    this.timer = null;
    let more: boolean;
    try {
      more = this.params.packNext();
    } catch {
      // Left pending: the next prediction packs it again, and reports the failure as its own.
      return;
    }
    if (more) this.schedule();
  }
}
