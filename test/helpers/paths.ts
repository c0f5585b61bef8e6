import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function fixture(name: string): string {
  return join(REPO_ROOT, 'test', 'fixtures', name);
}

export const GRIT_BIN = join(REPO_ROOT, 'bin', 'grit.cjs');
