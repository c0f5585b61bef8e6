/**
 * Which build of grit this is: its package version and a digest of its compiled code, written by
 * scripts/bundle.js to dist/src/build-info.json. A daemon left running across an upgrade (or a
 * rebuild) compares the CLI's digest with its own and steps aside (docs/daemon.md, "Upgrades").
 */
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  /** Hex digest of every compiled module: equal builds run equal code. */
  build: string;
}

let cached: BuildInfo | null | undefined;

/** This build's identity; null when the code was compiled without scripts/bundle.js (tsc alone). */
export function buildInfo(): BuildInfo | null {
  if (cached !== undefined) return cached;
  try {
    // dist/src/build-info.json: one level up from every module and bundle that asks (dist/src/*/).
    const raw = JSON.parse(readFileSync(new URL('../build-info.json', import.meta.url), 'utf8')) as Partial<BuildInfo>;
    cached = typeof raw.version === 'string' && typeof raw.build === 'string' ? { version: raw.version, build: raw.build } : null;
  } catch {
    cached = null;
  }
  return cached;
}
