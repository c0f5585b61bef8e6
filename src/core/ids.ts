import { randomBytes } from './random.js';
import { invalidArgs, quoted } from './errors.js';
import { blake2b128 } from './hash.js';
import { bytesEqual, isHexPrefix, toHex } from './hex.js';

export function newIssueId(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

export function newActorId(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/** The derived issue id under which a file's context events live (SPEC §1): a copy, the caller's to keep. */
export function contextIssueId(path: string): Uint8Array {
  return contextIdOf(path).slice();
}

/** Whether `issueId` is the id derived from `path` (what every ContextUpdated read is checked for). */
export function isContextIssueIdOf(issueId: Uint8Array, path: string): boolean {
  return bytesEqual(issueId, contextIdOf(path));
}

/**
 * Ids of paths derived lately. A rebuild checks thousands of ContextUpdated events of a few dozen
 * paths, each two or three times (decoded, then chosen and applied by the context tables), and a
 * hash with its encoded input cost ~5 µs a time; the oldest entry goes once the cache is full.
 */
const CONTEXT_IDS_KEPT = 256;
const contextIds = new Map<string, Uint8Array>();

/** The cached id of `path`: shared, never to be changed or handed out. */
function contextIdOf(path: string): Uint8Array {
  let id = contextIds.get(path);
  if (id === undefined) {
    id = blake2b128(new TextEncoder().encode(`grit:context:file:${path}`));
    if (contextIds.size >= CONTEXT_IDS_KEPT) contextIds.delete(contextIds.keys().next().value as string);
    contextIds.set(path, id);
  }
  return id;
}

/** How many ids the cache holds (for its test). */
export const contextIdsCached = (): number => contextIds.size;

/** The issue id of project key/value context: sixteen 0xFF bytes. */
export const PROJECT_CONTEXT_ID = new Uint8Array(16).fill(0xff);

export const MIN_PREFIX = 4;

/**
 * Resolves a user-typed id or prefix (4 to 32 hex characters, any case, `#` before it allowed) to
 * the one known id that starts with it; null when none does. `candidates` gives, for the prefix
 * (lowercase), known ids (lowercase hex) that include every one starting with it: a store reads
 * only that range of its keys, a short list may be given whole. `field`: the argument the input
 * came in, named by the errors' `details.field` (a command may take two ids: `issue_id`, `target`).
 */
export function resolvePrefix(input: string, candidates: (prefix: string) => Iterable<string>, what = 'issue', field?: string): string | null {
  const about = field === undefined ? {} : { field };
  // `issue show` prints an id as `#70f9b8c8`: pasted back with its `#`, it is that id.
  const prefix = input.trim().replace(/^#/, '').toLowerCase();
  if (prefix.length < MIN_PREFIX || prefix.length > 32 || !isHexPrefix(prefix)) {
    throw invalidArgs(
      `${what} id must be 4 to 32 hex characters, got ${quoted(input)}`,
      { ...about, id: input },
      `run \`grit ${what} list\` to see ids`,
    );
  }
  const matches: string[] = [];
  for (const id of candidates(prefix)) if (id.startsWith(prefix)) matches.push(id);
  if (matches.length > 1) {
    matches.sort();
    // The message names them too (a few): a person at a terminal does not see details.
    const shown = matches.slice(0, 5).join(', ') + (matches.length > 5 ? `, … (${matches.length} in all)` : '');
    throw invalidArgs(`${what} id prefix ${prefix} is ambiguous: ${shown}`, { ...about, candidates: matches }, 'type more characters of the id');
  }
  return matches[0] ?? null;
}

export { toHex };
