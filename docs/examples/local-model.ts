// Node ESM: a model folder shipped beside the code, as a file: URL (no path juggling).
import { Emotion2Vec } from 'emotion2vec-tfjs';

export async function loadBundledModel(): Promise<Emotion2Vec> {
  return Emotion2Vec.load(new URL('./model/', import.meta.url));
}
