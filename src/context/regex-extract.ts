/**
 * The fallback extractor, used for a language whose grammar did not load: line patterns for the
 * usual declaration forms, with the end line found by braces, indentation or a matching `end`.
 * It is approximate by design (no nesting awareness beyond indentation: an indented function is
 * taken for a method); the tree-sitter walk is the real extractor.
 */
import type { CodeSymbol, LanguageId, SymbolKind } from './languages.js';

/** A pattern whose group 1 is the indentation and group 2 the name; `kind` may depend on indentation. */
interface Pattern {
  re: RegExp;
  kind: SymbolKind | ((indented: boolean) => SymbolKind);
}

type BlockStyle = 'braces' | 'indent' | 'end';

const fnOrMethod = (indented: boolean): SymbolKind => (indented ? 'method' : 'function');
const p = (re: RegExp, kind: Pattern['kind']): Pattern => ({ re, kind });

const NOT_KEYWORD = '(?!(?:if|for|while|switch|catch|return|else|do|new|sizeof|typeof)\\b)';

/** A JavaScript function value (`function`, `(a) =>`, `a =>`), as the tree-sitter walk's FUNCTION_VALUES. */
const FUNCTION_VALUE = String.raw`(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[A-Za-z_$][\w$]*\s*=>)`;

const JS_PATTERNS: Pattern[] = [
  // CommonJS, at the top level only, as the tree-sitter walk (ast-rules.ts, commonJsExport):
  // `module.exports = function name() {}` / `= class Name` by its own name, `exports.name =
  // <function or class>` (or `module.exports.name`) by the export's.
  p(/^()module\.exports\s*=\s*(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/, 'function'),
  p(/^()module\.exports\s*=\s*class\s+([A-Za-z_$][\w$]*)/, 'class'),
  p(new RegExp(String.raw`^()(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=\s*${FUNCTION_VALUE}`), 'function'),
  p(/^()(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=\s*class\b/, 'class'),
  p(/^(\s*)(?:export\s+)?(?:default\s+)?(?:async\s+)?function\s*\*?\s*([A-Za-z_$][\w$]*)/, 'function'),
  p(/^(\s*)(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+([A-Za-z_$][\w$]*)/, 'class'),
  p(new RegExp(String.raw`^()(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*${FUNCTION_VALUE}`), 'function'),
  p(/^()(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=(?!\s*require\()/, 'constant'),
  p(new RegExp(`^(\\s+)(?:(?:public|private|protected|static|async|abstract|readonly|override|get|set)\\s+)*${NOT_KEYWORD}([A-Za-z_$#][\\w$]*)\\s*\\([^)]*\\)\\s*(?::[^{;]*)?\\{`), 'method'),
];

const TS_PATTERNS: Pattern[] = [
  ...JS_PATTERNS,
  p(/^(\s*)(?:export\s+)?(?:declare\s+)?interface\s+([A-Za-z_$][\w$]*)/, 'interface'),
  p(/^(\s*)(?:export\s+)?(?:declare\s+)?type\s+([A-Za-z_$][\w$]*)\s*(?:<[^=]*>)?\s*=/, 'type'),
  p(/^(\s*)(?:export\s+)?(?:declare\s+)?(?:const\s+)?enum\s+([A-Za-z_$][\w$]*)/, 'enum'),
  p(/^(\s*)(?:export\s+)?(?:declare\s+)?(?:namespace|module)\s+([A-Za-z_$][\w$.]*)/, 'module'),
];

const C_PATTERNS: Pattern[] = [
  p(/^()#\s*define\s+([A-Za-z_]\w*)(?!\()/, 'constant'),
  p(/^(\s*)(?:typedef\s+)?struct\s+([A-Za-z_]\w*)\s*\{/, 'struct'),
  p(/^(\s*)(?:typedef\s+)?union\s+([A-Za-z_]\w*)\s*\{/, 'struct'),
  p(/^(\s*)(?:typedef\s+)?enum\s+(?:class\s+|struct\s+)?([A-Za-z_]\w*)\s*(?::[^{]*)?\{/, 'enum'),
  p(/^(\s*)typedef\b[^;{]*?\b([A-Za-z_]\w*)\s*;/, 'type'),
  p(/^(\s*)}\s*([A-Za-z_]\w*)\s*;/, 'type'),
  p(new RegExp(`^()(?!typedef\\b|return\\b)[A-Za-z_][\\w\\s\\*&:<>,]*?\\b${NOT_KEYWORD}([A-Za-z_]\\w*)\\s*\\([^;]*$`), 'function'),
];

const CPP_PATTERNS: Pattern[] = [
  p(/^(\s*)(?:template\s*<[^>]*>\s*)?class\s+([A-Za-z_]\w*)\s*(?:final\s*)?(?::[^{;]*)?\{/, 'class'),
  p(/^(\s*)namespace\s+([A-Za-z_][\w:]*)\s*\{/, 'module'),
  p(/^(\s*)using\s+([A-Za-z_]\w*)\s*=/, 'type'),
  p(/^(\s*)(?:static\s+)?(?:inline\s+)?const(?:expr)?\s+[\w:<>]+\s+([A-Za-z_]\w*)\s*=/, 'constant'),
  p(new RegExp(`^()(?!typedef\\b|return\\b)[A-Za-z_][\\w\\s\\*&<>,]*?\\b[A-Za-z_]\\w*::(~?[A-Za-z_]\\w*)\\s*\\([^;]*$`), 'method'),
  ...C_PATTERNS,
];

const PATTERNS: Record<LanguageId, Pattern[]> = {
  rust: [
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe|extern\s+"[^"]*")\s+)*fn\s+([A-Za-z_]\w*)/, fnOrMethod),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:struct|union)\s+([A-Za-z_]\w*)/, 'struct'),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?enum\s+([A-Za-z_]\w*)/, 'enum'),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?trait\s+([A-Za-z_]\w*)/, 'trait'),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_]\w*)/, 'module'),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const|static(?:\s+mut)?)\s+([A-Za-z_]\w*)\s*:/, 'constant'),
    p(/^(\s*)(?:pub(?:\([^)]*\))?\s+)?type\s+([A-Za-z_]\w*)/, 'type'),
  ],
  python: [
    p(/^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)/, fnOrMethod),
    p(/^(\s*)class\s+([A-Za-z_]\w*)/, 'class'),
    p(/^()([A-Z][A-Z0-9_]*)\s*(?::[^=]+)?=(?!=)/, 'constant'),
  ],
  typescript: TS_PATTERNS,
  tsx: TS_PATTERNS,
  javascript: JS_PATTERNS,
  go: [
    p(/^()func\s+([A-Za-z_]\w*)/, 'function'),
    p(/^()func\s*\([^)]*\)\s*([A-Za-z_]\w*)/, 'method'),
    p(/^(\s*)(?:type\s+)?([A-Za-z_]\w*)\s+struct\s*\{/, 'struct'),
    p(/^(\s*)(?:type\s+)?([A-Za-z_]\w*)\s+interface\s*\{/, 'interface'),
    p(/^()type\s+([A-Za-z_]\w*)\s+(?!struct\b|interface\b)/, 'type'),
    p(/^()const\s+([A-Za-z_]\w*)/, 'constant'),
  ],
  java: [
    p(/^(\s*)(?:(?:public|private|protected|static|final|abstract|sealed|strictfp)\s+)*(?:class|record)\s+([A-Za-z_]\w*)/, 'class'),
    p(/^(\s*)(?:(?:public|private|protected|static|abstract|sealed)\s+)*@?interface\s+([A-Za-z_]\w*)/, 'interface'),
    p(/^(\s*)(?:(?:public|private|protected|static)\s+)*enum\s+([A-Za-z_]\w*)/, 'enum'),
    p(/^(\s*)(?:(?:public|private|protected)\s+)?(?:static\s+final|final\s+static)\s+[\w<>\[\],. ?]+\s+([A-Za-z_]\w*)\s*=/, 'constant'),
    p(new RegExp(`^(\\s+)(?:(?:public|private|protected|static|final|abstract|synchronized|native|default)\\s+)*(?:<[^>]*>\\s+)?(?:[\\w<>\\[\\],.? ]+\\s+)?${NOT_KEYWORD}([A-Za-z_]\\w*)\\s*\\([^;]*$`), 'method'),
  ],
  c: C_PATTERNS,
  cpp: CPP_PATTERNS,
  ruby: [
    p(/^(\s*)def\s+self\.([A-Za-z_]\w*[?!=]?)/, 'method'),
    p(/^(\s*)def\s+([A-Za-z_]\w*[?!=]?)/, fnOrMethod),
    p(/^(\s*)class\s+([A-Z][\w:]*)/, 'class'),
    p(/^(\s*)module\s+([A-Z][\w:]*)/, 'module'),
    p(/^(\s*)([A-Z][A-Z0-9_]*)\s*=(?!=)/, 'constant'),
  ],
  elixir: [
    p(/^(\s*)defmodule\s+([A-Z][\w.]*)/, 'module'),
    p(/^(\s*)defprotocol\s+([A-Z][\w.]*)/, 'interface'),
    p(/^(\s*)(?:def|defp|defmacro|defmacrop|defguard|defguardp|defdelegate)\s+([a-z_]\w*[?!]?)/, 'function'),
    p(/^(\s*)@(?:type|typep|opaque)\s+([a-z_]\w*)/, 'type'),
  ],
};

const BLOCKS: Record<LanguageId, BlockStyle> = {
  rust: 'braces',
  python: 'indent',
  typescript: 'braces',
  tsx: 'braces',
  javascript: 'braces',
  go: 'braces',
  java: 'braces',
  c: 'braces',
  cpp: 'braces',
  ruby: 'end',
  elixir: 'end',
};

export function extractWithRegex(language: LanguageId, text: string): CodeSymbol[] {
  const lines = text.split(/\r?\n/);
  const out: CodeSymbol[] = [];
  const js = COMMONJS.has(language);
  for (let i = 0; i < lines.length; i++) {
    if (js && EXPORTS_OBJECT.test(lines[i])) {
      i = exportedMembers(lines, i, out);
      continue;
    }
    for (const { re, kind } of PATTERNS[language]) {
      const m = re.exec(lines[i]);
      if (!m) continue;
      const resolved = typeof kind === 'function' ? kind(m[1].length > 0) : kind;
      out.push({ name: m[2], kind: resolved, line_start: i + 1, line_end: blockEnd(lines, i, BLOCKS[language]) + 1 });
      break;
    }
  }
  return out;
}

/** The languages whose tree-sitter rules take CommonJS exports (JAVASCRIPT_NODES in ast-rules.ts). */
const COMMONJS: ReadonlySet<LanguageId> = new Set(['javascript', 'typescript', 'tsx']);

/** `module.exports = {` at the top level: its members are the exports (commonJsExport in ast-rules.ts). */
const EXPORTS_OBJECT = /^module\.exports\s*=\s*\{/;
/** A member of that object: `a() {`, `"a-b": function`, `a: (x) =>` (function), `A: class` (class). */
const MEMBER_KEY = String.raw`([A-Za-z_$][\w$]*|"[^"]*"|'[^']*')`;
const MEMBER_PATTERNS: Pattern[] = [
  p(new RegExp(String.raw`^(\s*)(?:async\s+)?\*?\s*${MEMBER_KEY}\s*\([^)]*\)\s*\{`), 'function'),
  p(new RegExp(String.raw`^(\s*)${MEMBER_KEY}\s*:\s*${FUNCTION_VALUE}`), 'function'),
  p(new RegExp(String.raw`^(\s*)${MEMBER_KEY}\s*:\s*class\b`), 'class'),
];

/**
 * The functions and classes of a `module.exports = { … }` starting on line `start`, as exported
 * functions (not a class's methods), each member found on a line that starts at the object's own
 * depth; nothing inside them is looked at, as the tree-sitter walk stops there. Returns the
 * object's last line.
 */
function exportedMembers(lines: string[], start: number, out: CodeSymbol[]): number {
  const end = braceEnd(lines, start);
  let depth = 0;
  for (let i = start; i <= end; i++) {
    if (depth === 1) {
      for (const { re, kind } of MEMBER_PATTERNS) {
        const m = re.exec(lines[i]);
        if (!m) continue;
        // An arrow without a block ends on its own line; braceEnd would read its trailing comma as going on.
        const last = /\{/.test(lines[i]) ? braceEnd(lines, i) : i;
        out.push({ name: m[2].replace(/^(["'])(.*)\1$/, '$2'), kind: kind as SymbolKind, line_start: i + 1, line_end: last + 1 });
        break;
      }
    }
    depth += braceDelta(lines[i]);
  }
  return end;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** The 0-based last line of the block that starts on line `start`. */
function blockEnd(lines: string[], start: number, style: BlockStyle): number {
  if (style === 'indent') {
    const base = indentOf(lines[start]);
    let last = start;
    for (let i = start + 1; i < lines.length; i++) {
      if (lines[i].trim() === '') continue;
      if (indentOf(lines[i]) <= base) break;
      last = i;
    }
    return last;
  }
  if (style === 'end') {
    const opens = /^\s*(?:def\w*|class|module)\b/.test(lines[start]) || /\bdo\s*(?:\|[^|]*\|)?\s*$/.test(lines[start]);
    if (!opens || (/\bdo:|\bend\s*$/.test(lines[start]) && !/\bdo\s*$/.test(lines[start]))) return start;
    const base = indentOf(lines[start]);
    for (let i = start + 1; i < lines.length; i++) {
      if (indentOf(lines[i]) === base && /^\s*end\b/.test(lines[i])) return i;
      if (lines[i].trim() !== '' && indentOf(lines[i]) < base) return start;
    }
    return start;
  }
  return braceEnd(lines, start);
}

/**
 * Counts braces (outside strings and line comments) from the declaration's line. Before the first
 * `{`, a `;` ends the declaration, and a line ends it too unless the declaration visibly goes on
 * (an open parameter list, a trailing comma, or a `{` alone on the next line).
 */
function braceEnd(lines: string[], start: number): number {
  let depth = 0;
  let opened = false;
  for (let i = start; i < lines.length; i++) {
    const line = codeOf(lines[i]);
    for (const ch of line) {
      if (ch === '{') {
        depth++;
        opened = true;
      } else if (ch === '}') {
        depth--;
        if (opened && depth === 0) return i;
      } else if (ch === ';' && !opened) return i;
    }
    if (!opened && !/[(,]\s*$/.test(line) && !/^\s*\{/.test(lines[i + 1] ?? '')) return start;
  }
  return start;
}

/** A line without its strings and line comment, whose braces are code. */
const codeOf = (line: string): string => line.replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`|\/\/.*$/g, '');

/** How many more `{` than `}` a line's code holds. */
const braceDelta = (line: string): number => {
  let delta = 0;
  for (const ch of codeOf(line)) delta += ch === '{' ? 1 : ch === '}' ? -1 : 0;
  return delta;
};
