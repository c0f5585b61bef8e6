/**
 * The languages `context index` understands: which file extensions belong to each, and the grammar
 * (a prebuilt tree-sitter wasm from the `tree-sitter-wasms` package) that parses it.
 */
import { extname } from 'node:path';

export const LANGUAGE_IDS = [
  'rust',
  'python',
  'typescript',
  'tsx',
  'javascript',
  'go',
  'java',
  'c',
  'cpp',
  'ruby',
  'elixir',
] as const;
export type LanguageId = (typeof LANGUAGE_IDS)[number];

export const SYMBOL_KINDS = [
  'function',
  'method',
  'class',
  'struct',
  'interface',
  'trait',
  'enum',
  'module',
  'constant',
  'type',
] as const;
export type SymbolKind = (typeof SYMBOL_KINDS)[number];

/** A symbol as extracted; the event stores it as a ContextSymbol (kind as plain text). */
export interface CodeSymbol {
  name: string;
  kind: SymbolKind;
  line_start: number;
  line_end: number;
}

const EXTENSIONS: Record<LanguageId, readonly string[]> = {
  rust: ['.rs'],
  python: ['.py', '.pyi', '.pyw'],
  typescript: ['.ts', '.mts', '.cts'],
  tsx: ['.tsx'],
  javascript: ['.js', '.mjs', '.cjs', '.jsx'],
  go: ['.go'],
  java: ['.java'],
  // `.h` is read as C: a C++ header usually parses fine as C for its top-level declarations.
  c: ['.c', '.h'],
  cpp: ['.cc', '.cpp', '.cxx', '.c++', '.hh', '.hpp', '.hxx', '.h++', '.ipp'],
  ruby: ['.rb', '.rake'],
  elixir: ['.ex', '.exs'],
};

const BY_EXTENSION: ReadonlyMap<string, LanguageId> = new Map(
  LANGUAGE_IDS.flatMap((id) => EXTENSIONS[id].map((ext) => [ext, id] as const)),
);

/** The language of a path by its extension (case-insensitive), or null when grit does not index it. */
export function languageOf(path: string): LanguageId | null {
  return BY_EXTENSION.get(extname(path).toLowerCase()) ?? null;
}

/** The grammar's file name inside `tree-sitter-wasms/out/`. */
export const grammarFile = (id: LanguageId): string => `tree-sitter-${id}.wasm`;

/**
 * The environment variable that points one language at another grammar wasm, e.g.
 * `GRIT_GRAMMAR_RUST=/path/to/tree-sitter-rust.wasm`. Meant for trying a newer grammar and for
 * tests of the fallback (a missing file makes that language use the regex extractor).
 */
export const grammarEnvVar = (id: LanguageId): string => `GRIT_GRAMMAR_${id.toUpperCase()}`;
