/** `1 event`, `2 events`: a count and its noun, for messages people read. */
export const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;
