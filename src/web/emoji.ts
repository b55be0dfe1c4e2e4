/** An emoji for each English label name of emotion2vec+ (tokens.txt), as the seed's WebUI shows them. */
const EMOJI: Readonly<Record<string, string>> = {
  angry: '😠',
  disgusted: '🤢',
  fearful: '😨',
  happy: '😊',
  neutral: '😐',
  other: '🤔',
  sad: '😢',
  surprised: '😲',
  unknown: '❓',
};

/** The emoji of an English label name; a speech balloon for labels we do not know. */
export function emojiFor(englishName: string | null): string {
  return (englishName && EMOJI[englishName]) ?? '💬';
}
