/**
 * Symbol extraction with tree-sitter (web-tree-sitter + the prebuilt grammars of
 * `tree-sitter-wasms`). Imported only by `context index`, so no other command pays for loading
 * wasm. A grammar that cannot be loaded turns into a warning and the regex extractor for that
 * language; nothing here throws for a file it cannot parse.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { dirname, join } from 'node:path';
import type { Language as TsLanguage, Parser as TsParser, Tree, TreeCursor } from 'web-tree-sitter';
import { lineOrder } from '../core/context-store.js';
import { PROBES, RULES, type Found, type LanguageRules, type Scope } from './ast-rules.js';
import { grammarEnvVar, grammarFile, type CodeSymbol, type LanguageId } from './languages.js';
import { extractWithRegex } from './regex-extract.js';

export interface ExtractWarning {
  language: LanguageId;
  message: string;
}

export interface Extraction {
  symbols: CodeSymbol[];
  /** How the symbols were found: `ast` normally, `regex` when the grammar was unavailable. */
  engine: 'ast' | 'regex';
}

type WebTreeSitter = typeof import('web-tree-sitter');

/** Where a language's grammar wasm is: `GRIT_GRAMMAR_<LANG>` if set, else the bundled one. */
export function grammarPath(id: LanguageId, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[grammarEnvVar(id)];
  if (override) return override;
  const pkg = createRequire(import.meta.url).resolve('tree-sitter-wasms/package.json');
  return join(dirname(pkg), 'out', grammarFile(id));
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0];

export class Extractor {
  readonly warnings: ExtractWarning[] = [];

  /** `env`: the command's (ContextOptions.env), whose GRIT_GRAMMAR_<LANG> pick the grammars. */
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  private runtime: Promise<WebTreeSitter | null> | null = null;
  private runtimeError = '';
  private readonly parsers = new Map<LanguageId, Promise<TsParser | null>>();

  /** Symbols of one file's text, sorted by line then name. */
  async extract(language: LanguageId, text: string): Promise<Extraction> {
    const parser = await this.parserFor(language);
    if (parser) {
      let tree: Tree | null = null;
      try {
        tree = parser.parse(text);
        if (tree) return { symbols: sortSymbols(walkTree(tree, RULES[language])), engine: 'ast' };
      } catch (err) {
        this.warn(language, `tree-sitter failed on a file, used the regex extractor: ${message(err)}`);
        parser.reset();
      } finally {
        tree?.delete();
      }
    }
    return { symbols: sortSymbols(extractWithRegex(language, text)), engine: 'regex' };
  }

  /** Frees the wasm parsers. */
  async dispose(): Promise<void> {
    for (const p of this.parsers.values()) (await p)?.delete();
    this.parsers.clear();
  }

  private warn(language: LanguageId, text: string): void {
    if (!this.warnings.some((w) => w.language === language && w.message === text)) this.warnings.push({ language, message: text });
  }

  private loadRuntime(): Promise<WebTreeSitter | null> {
    this.runtime ??= compileOnBaseline(async () => {
      const ts = await import('web-tree-sitter');
      await ts.Parser.init();
      return ts;
    }).catch((err) => {
      this.runtimeError = message(err);
      return null;
    });
    return this.runtime;
  }

  private parserFor(language: LanguageId): Promise<TsParser | null> {
    let p = this.parsers.get(language);
    if (!p) {
      p = (async () => {
        const ts = await this.loadRuntime();
        if (!ts) {
          this.warn(language, `web-tree-sitter did not load (${this.runtimeError}); symbols come from the regex extractor`);
          return null;
        }
        const path = grammarPath(language, this.env);
        let lang: TsLanguage;
        try {
          lang = await compileOnBaseline(() => ts.Language.load(path));
          const parser = new ts.Parser();
          parser.setLanguage(lang);
          const misfit = probeMismatch(parser, language);
          if (misfit === null) return parser;
          parser.delete();
          this.warn(language, `grammar ${path} loads but does not fit grit's ${language} rules (${misfit}); symbols come from the regex extractor`);
          return null;
        } catch (err) {
          this.warn(language, `grammar ${path} did not load (${message(err)}); symbols come from the regex extractor`);
          return null;
        }
      })();
      this.parsers.set(language, p);
    }
    return p;
  }
}

/**
 * Grammars are large wasm modules (up to 4.6 MB) whose optimizing compile costs more than it saves
 * over a whole index run: on V8's baseline code alone the eleven grammars load in ~0.2 s instead of
 * ~5 s, and a cold index ran 1.9x (this repository) to 2.5x (2,000 files) faster (docs/context.md).
 * V8 flags are process-wide, though: in the daemon every worker thread shares them, and grit's
 * BLAKE2b is WebAssembly too (hash-wasm), which compiled under these flags hashes 7-13x slower.
 * So they hold only while the runtime or a grammar compiles, with lazy compilation off so that
 * every function is compiled then: a module keeps the tiering it was compiled with, so the grammars
 * stay on baseline code and what compiles later tiers up as usual (docs/performance.md). Nested
 * compiles in this thread keep them set until the last ends; V8's defaults come back after, as
 * grit sets these flags nowhere else.
 */
const BASELINE_ONLY = '--no-wasm-dynamic-tiering --no-wasm-tier-up --no-wasm-lazy-compilation';
const V8_DEFAULTS = '--wasm-dynamic-tiering --wasm-tier-up --wasm-lazy-compilation';
let compiling = 0;

async function compileOnBaseline<T>(compile: () => Promise<T>): Promise<T> {
  if (compiling++ === 0) setV8Flags(BASELINE_ONLY);
  try {
    return await compile();
  } finally {
    if (--compiling === 0) setV8Flags(V8_DEFAULTS);
  }
}

function setV8Flags(flags: string): void {
  try {
    setFlagsFromString(flags);
  } catch {
    /* an engine without these flags compiles as it likes */
  }
}

/** Null when the parser finds the symbols of the language's probe; else what it found instead. */
function probeMismatch(parser: TsParser, language: LanguageId): string | null {
  const { source, symbols: expected } = PROBES[language];
  const tree = parser.parse(source);
  if (!tree) return 'it parsed nothing';
  let found: string[];
  try {
    found = sortSymbols(walkTree(tree, RULES[language])).map((s) => `${s.kind} ${s.name}`);
  } finally {
    tree.delete();
  }
  if (found.join('\n') === expected.join('\n')) return null;
  return `in a ${language} sample it finds ${found.length ? found.join(', ') : 'nothing'} instead of ${expected.join(', ')}`;
}

/**
 * The walk: each node type with a rule may yield symbols, change the scope, or stop the descent.
 * Iterative, with the scopes on a stack of their own: a generated file's top-level expression
 * (`module.exports = "a" + "b" + …` thousands of terms long) nests thousands of levels deep, which
 * overflowed the call stack of a recursive walk.
 */
export function walkTree(tree: Tree, rules: LanguageRules): CodeSymbol[] {
  const out: CodeSymbol[] = [];
  const cursor = tree.walk();
  // The scope the current node's siblings share; an entry per level below the root.
  const scopes: Scope[] = ['top'];
  try {
    for (;;) {
      const scope = scopes[scopes.length - 1];
      const visit = visitNode(cursor, rules, scope, out);
      if (visit.descend && cursor.gotoFirstChild()) {
        scopes.push(visit.inner);
        continue;
      }
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) return out;
        scopes.pop();
      }
    }
  } finally {
    cursor.delete();
  }
}

/** Applies the rule of the cursor's node (if any): its symbols go to `out`; says whether and in which scope to look inside. */
function visitNode(cursor: TreeCursor, rules: LanguageRules, scope: Scope, out: CodeSymbol[]): { descend: boolean; inner: Scope } {
  const rule = cursor.nodeIsNamed ? rules.nodes[cursor.nodeType] : undefined;
  if (!rule) return { descend: true, inner: scope };
  const node = cursor.currentNode;
  const v = rule(node, scope);
  if (!v) return { descend: true, inner: scope };
  for (const found of v.symbols ?? []) out.push(toSymbol(found.node ? found : { ...found, node }, rules));
  return { descend: !v.stop, inner: v.inner ?? scope };
}

function toSymbol(found: Found, rules: LanguageRules): CodeSymbol {
  const node = found.node!;
  const wrapper = rules.wrappers && node.parent && rules.wrappers.has(node.parent.type) ? node.parent : null;
  let first = wrapper ?? node;
  if (rules.attached) for (let s = first.previousNamedSibling; s && rules.attached(s); s = s.previousNamedSibling) first = s;
  const start = first.startPosition.row + 1;
  const end = node.endPosition;
  // A node that ends at column 0 ends with the previous line's newline.
  const lineEnd = end.column === 0 && end.row + 1 > start ? end.row : end.row + 1;
  return { name: found.name, kind: found.kind, line_start: start, line_end: lineEnd };
}

/** Line order, without duplicates: the order `context show` prints and the store keeps. */
export function sortSymbols(symbols: CodeSymbol[]): CodeSymbol[] {
  const seen = new Set<string>();
  const out: CodeSymbol[] = [];
  for (const s of symbols) {
    const key = `${s.name}\u0000${s.kind}\u0000${s.line_start}\u0000${s.line_end}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(s);
    }
  }
  return out.sort(lineOrder);
}
