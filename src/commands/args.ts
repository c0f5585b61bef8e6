/**
 * Argument checks shared by every command function. Arguments arrive from the CLI or, untrusted,
 * from IPC requests, so each command validates what it reads through these.
 */
import { invalidArgs } from '../core/errors.js';

export type Args = Record<string, unknown>;

/** IPC keys that the CLI takes as positional arguments, named as its usage lines name them. */
const POSITIONAL: Record<string, string> = { issue_id: '<id>', query: '<query>', key: '<key>', value: '<value>', path: '<path>' };

/** How a person typed the argument: IPC keys are snake_case, CLI flags kebab-case. */
const flag = (key: string): string => POSITIONAL[key] ?? `--${key.replaceAll('_', '-')}`;

export function optText(args: Args, key: string): string | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidArgs(`${flag(key)} must be text`, { field: key });
  return v;
}

export function text(args: Args, key: string, opts: { nonEmpty?: boolean } = {}): string {
  const v = optText(args, key);
  if (v === undefined) throw invalidArgs(`${flag(key)} is required`, { field: key });
  if (opts.nonEmpty && v.trim() === '') throw invalidArgs(`${flag(key)} must not be empty`, { field: key });
  return v;
}

/** `flag` names the CLI flag when it is not the key's own (one `--label` per item of `labels`). */
export function textList(args: Args, key: string, flagName = key): string[] {
  const v = args[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const item of list) {
    if (typeof item !== 'string' || item.trim() === '') {
      throw invalidArgs(`${flag(flagName)} values must be non-empty text`, { field: key });
    }
  }
  return [...new Set(list as string[])];
}

export function oneOf<T extends string>(args: Args, key: string, allowed: readonly T[]): T | undefined {
  const v = optText(args, key);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) {
    throw invalidArgs(`${flag(key)} must be one of ${allowed.join(', ')}`, { field: key, value: v });
  }
  return v as T;
}

export function bool(args: Args, key: string): boolean {
  const v = args[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw invalidArgs(`${flag(key)} must be true or false`, { field: key });
  return v;
}

/** An integer in [min, max]; numeric text is accepted too (the CLI's fast path passes flags as text). */
export function optInt(args: Args, key: string, range: { min: number; max: number }): number | undefined {
  const v = args[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw invalidArgs(`${flag(key)} must be an integer from ${range.min} to ${range.max}`, { field: key, value: v });
  }
  return n;
}
