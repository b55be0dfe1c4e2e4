/** Seeded randomness for training: the same seed gives the same split, initial weights and batch order. */
import seedrandom from 'seedrandom';

/** A source of uniform numbers in [0, 1), reproducible from its seed. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  const generator = seedrandom(String(seed));
  return () => generator.quick();
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
