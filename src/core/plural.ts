/** `1 event`, `2 events`: a count and its noun, for messages people read (`nouns` where an `s` does not make the plural). */
export const plural = (n: number, noun: string, nouns = `${noun}s`): string => `${n} ${n === 1 ? noun : nouns}`;

/**
 * A count of WAL records that says how many are further copies of an event, when some are: `3
 * events (2 distinct, 1 a further copy)`, where commands that count distinct events say 2.
 */
export const recordsCounted = (records: number, copies = 0): string =>
  copies > 0 ? `${plural(records, 'event')} (${records - copies} distinct, ${copies} ${copies === 1 ? 'a further copy' : 'further copies'})` : plural(records, 'event');
