/**
 * The issue ids SPEC §1 gives to context: project context lives under sixteen 0xFF bytes, a file's
 * context under the id derived from its path. An event whose kind and id disagree on this is not
 * SPEC's: readers refuse it (it would be listed as an issue, or taken in and never seen) and
 * writers never make one.
 */
import { bytesEqual } from './hex.js';
import { isContextIssueIdOf, PROJECT_CONTEXT_ID } from './ids.js';
import type { EventKind } from './kinds.js';

/** Why `kind` may not live under `issueId`, or null when it may. */
export function kindIdMismatch(issueId: Uint8Array, kind: EventKind): string | null {
  const underProject = bytesEqual(issueId, PROJECT_CONTEXT_ID);
  if (kind.type === 'ProjectContextUpdated') {
    return underProject ? null : 'ProjectContextUpdated must be under the project-context id (ff…ff)';
  }
  if (underProject) return `${kind.type} may not be under the project-context id (ff…ff)`;
  if (kind.type === 'ContextUpdated' && !isContextIssueIdOf(issueId, kind.path)) {
    return 'ContextUpdated must be under the id derived from its path (BLAKE2b-128 of "grit:context:file:<path>")';
  }
  return null;
}
