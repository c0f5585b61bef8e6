/** `1 event`, `2 events`: a count and its noun, for messages people read (`nouns` where an `s` does not make the plural). */
export const plural = (n: number, noun: string, nouns = `${noun}s`): string => `${n} ${n === 1 ? noun : nouns}`;
