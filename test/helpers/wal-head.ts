/** A WAL head for tests of the store alone: any commit id will do, and the store keeps only commit ids. */
export const walHead = (n = 0): string => n.toString(16).padStart(40, '0');
