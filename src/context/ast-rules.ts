/**
 * Which syntax nodes are symbols, per language: a table from node type to a rule, applied by a
 * walk over the tree (src/context/ast-extract.ts). Node types are those of the grammars shipped in
 * `tree-sitter-wasms` 0.1.13; test/context/extract.test.ts pins every language's output.
 *
 * Only declarations outside function bodies are indexed: a rule for a function-like node stops
 * the walk there, so locals and closures never show up (and the walk skips most of the tree).
 */
import type { Node } from 'web-tree-sitter';
import type { LanguageId, SymbolKind } from './languages.js';

/** Where a declaration sits: directly in a type-like body (so a function there is a method) or not. */
export type Scope = 'top' | 'class';

export interface Found {
  name: string;
  kind: SymbolKind;
  /** The node whose lines the symbol spans; the visited node when absent. */
  node?: Node;
}

export interface Visit {
  symbols?: Found[];
  /** The scope the node's children are in; unchanged when absent. */
  inner?: Scope;
  /** Do not look inside the node. */
  stop?: boolean;
}

export type Rule = (node: Node, scope: Scope) => Visit | null;

export interface LanguageRules {
  nodes: Record<string, Rule>;
  /**
   * Node types that wrap a definition and belong to it (Python decorators, C++ template headers):
   * a symbol whose node sits in one starts at the wrapper's first line.
   */
  wrappers?: ReadonlySet<string>;
  /**
   * Whether a node written just before a declaration, as its sibling, belongs to it (Rust
   * attributes and doc comments, TypeScript decorators of a method or an exported class): a
   * symbol starts at the first of an unbroken run of them, as one in a wrapper starts at the wrapper.
   */
  attached?: (sibling: Node) => boolean;
}

const field = (node: Node, name: string): string | null => node.childForFieldName(name)?.text ?? null;
const one = (name: string | null | undefined, kind: SymbolKind, node?: Node): Found[] =>
  name ? [{ name, kind, node }] : [];

/** A declaration named by its `name` field; `stop` unless its body holds members worth indexing. */
function named(kind: SymbolKind, opts: { inner?: Scope; nameField?: string } = {}): Rule {
  return (node) => ({
    symbols: one(field(node, opts.nameField ?? 'name'), kind),
    ...(opts.inner ? { inner: opts.inner } : { stop: true }),
  });
}

/** A function: a method when it sits directly in a type-like body. */
const fn: Rule = (node, scope) => ({
  symbols: one(field(node, 'name'), scope === 'class' ? 'method' : 'function'),
  stop: true,
});
const method: Rule = (node) => ({ symbols: one(field(node, 'name'), 'method'), stop: true });
const opaque: Rule = () => ({ stop: true });
const into =
  (inner: Scope): Rule =>
  () => ({ inner });

const UPPER_CASE = /^[A-Z][A-Z0-9_]*$/;

// --- Rust ---

// An outer doc comment, `///` or a block opened with `/**`, which Rust reads as a `#[doc]` attribute
// of the item after it (`////` and `/***` open plain comments; `//!` documents the enclosing item).
const RUST_DOC_COMMENT = /^(\/\/\/(?!\/)|\/\*\*(?![*/]))/;

const RUST: LanguageRules = {
  attached: (n) => n.type === 'attribute_item' || ((n.type === 'line_comment' || n.type === 'block_comment') && RUST_DOC_COMMENT.test(n.text)),
  nodes: {
    function_item: fn,
    function_signature_item: fn,
    struct_item: named('struct'),
    union_item: named('struct'),
    enum_item: named('enum'),
    trait_item: named('trait', { inner: 'class' }),
    impl_item: into('class'),
    mod_item: named('module', { inner: 'top' }),
    const_item: named('constant'),
    static_item: named('constant'),
    type_item: named('type'),
    macro_definition: opaque,
  },
};

// --- Python ---

const UNPACKING = new Set(['pattern_list', 'tuple_pattern', 'list_pattern']);

const PYTHON: LanguageRules = {
  wrappers: new Set(['decorated_definition']),
  nodes: {
    function_definition: fn,
    class_definition: named('class', { inner: 'class' }),
    expression_statement: (node) => {
      const a = node.firstNamedChild;
      const left = a?.type === 'assignment' ? a.childForFieldName('left') : null;
      // `A, B = 1, 2` (or in brackets): each upper-case name is a constant.
      const names = left && UNPACKING.has(left.type) ? left.namedChildren : [left];
      const symbols = names.flatMap((n) => (n?.type === 'identifier' && UPPER_CASE.test(n.text) ? one(n.text, 'constant') : []));
      return { symbols, stop: true };
    },
    lambda: opaque,
  },
};

// --- TypeScript, TSX, JavaScript ---

const FUNCTION_VALUES = new Set(['arrow_function', 'function', 'function_expression', 'generator_function']);

/** `const a = …, b = () => …`: functions (and classes) by their value, other top-level consts as constants. */
const variables: Rule = (node, scope) => {
  const isConst = node.firstChild?.type === 'const';
  const symbols: Found[] = [];
  for (const d of node.namedChildren) {
    if (d?.type !== 'variable_declarator') continue;
    const name = d.childForFieldName('name');
    if (name?.type !== 'identifier') continue; // destructuring patterns declare no single symbol
    const value = d.childForFieldName('value');
    if (value && FUNCTION_VALUES.has(value.type)) symbols.push({ name: name.text, kind: 'function', node: d });
    else if (value?.type === 'class') symbols.push({ name: name.text, kind: 'class', node: d });
    else if (isConst && scope === 'top' && !isRequire(value)) symbols.push({ name: name.text, kind: 'constant', node: d });
  }
  return { symbols, stop: true };
};

const isRequire = (value: Node | null): boolean =>
  value?.type === 'call_expression' && value.childForFieldName('function')?.text === 'require';

/** A class field holding an arrow function (`onClick = () => …`) is a method in all but name. */
const classField: Rule = (node) => {
  const value = node.childForFieldName('value');
  const name = field(node, 'name') ?? field(node, 'property');
  return { symbols: value && FUNCTION_VALUES.has(value.type) ? one(name, 'method') : [], stop: true };
};

/** A function or class value's kind, or null for any other value. */
const valueKind = (value: Node | null): 'function' | 'class' | null =>
  value && FUNCTION_VALUES.has(value.type) ? 'function' : value?.type === 'class' ? 'class' : null;

/**
 * CommonJS: `exports.name = function …` (or `module.exports.name = …`, a class) is named by the
 * export; `module.exports = function name() {}` (or a class) by its own name, as an anonymous one
 * has none to find it by; `module.exports = { a() {}, b: () => … }` gives each function or class
 * in the object, kinds as `exports.a = …` gives them (its methods are exported functions, not a
 * class's methods). A shorthand `{ a }` exports what is declared elsewhere, found there.
 */
const commonJsExport: Rule = (node, scope) => {
  const a = node.firstNamedChild;
  if (scope !== 'top' || a?.type !== 'assignment_expression') return null;
  const left = a.childForFieldName('left');
  const value = a.childForFieldName('right');
  if (left?.text === 'module.exports') {
    if (value?.type === 'object') return { symbols: value.namedChildren.flatMap((m) => (m ? exportedMember(m) : [])), stop: true };
    const kind = valueKind(value);
    return kind ? { symbols: one(field(value!, 'name'), kind), inner: kind === 'class' ? 'class' : scope } : null;
  }
  const exportsObject = left?.type === 'member_expression' ? left.childForFieldName('object')?.text : null;
  if (exportsObject !== 'exports' && exportsObject !== 'module.exports') return null;
  const kind = valueKind(value);
  return kind ? { symbols: one(field(left!, 'property'), kind), inner: kind === 'class' ? 'class' : scope } : null;
};

/** A member of `module.exports = { … }`: `a() {}` or `a: <function or class>` (a quoted key too; a computed one has no name). */
function exportedMember(member: Node): Found[] {
  if (member.type === 'method_definition') return one(field(member, 'name'), 'function', member);
  if (member.type !== 'pair') return [];
  const key = member.childForFieldName('key');
  const kind = valueKind(member.childForFieldName('value'));
  const name = key?.type === 'property_identifier' ? key.text : key?.type === 'string' ? key.text.slice(1, -1) : null;
  return kind ? one(name, kind, member) : [];
}

const JAVASCRIPT_NODES: Record<string, Rule> = {
  expression_statement: commonJsExport,
  function_declaration: fn,
  generator_function_declaration: fn,
  class_declaration: named('class', { inner: 'class' }),
  method_definition: method,
  lexical_declaration: variables,
  variable_declaration: variables,
  field_definition: classField,
  arrow_function: opaque,
  function: opaque,
  function_expression: opaque,
  generator_function: opaque,
};

/**
 * A decorator is a sibling of what it decorates when that is a class member or an exported class
 * (`@Input() name` in a class body; `@Component({…}) export class A`); a plain class holds its own.
 */
const decorator = (n: Node): boolean => n.type === 'decorator';

const TYPESCRIPT: LanguageRules = {
  attached: decorator,
  nodes: {
    ...JAVASCRIPT_NODES,
    function_signature: fn,
    abstract_class_declaration: named('class', { inner: 'class' }),
    abstract_method_signature: method,
    // A method's overload signature, and each method of a `declare class` (all a .d.ts holds).
    method_signature: method,
    public_field_definition: classField,
    interface_declaration: named('interface'),
    type_alias_declaration: named('type'),
    enum_declaration: named('enum'),
    internal_module: named('module', { inner: 'top' }),
    module: (node) => ({ symbols: one(field(node, 'name')?.replace(/^['"]|['"]$/g, ''), 'module'), inner: 'top' }),
  },
};

// --- Go ---

const GO: LanguageRules = {
  nodes: {
    function_declaration: fn,
    method_declaration: method,
    type_spec: (node) => {
      const type = node.childForFieldName('type')?.type;
      const kind: SymbolKind = type === 'struct_type' ? 'struct' : type === 'interface_type' ? 'interface' : 'type';
      return { symbols: one(field(node, 'name'), kind), stop: true };
    },
    type_alias: named('type'),
    // `const X, Y = 1, 2`: the grammar's `name` field holds the commas between the names too.
    const_spec: (node) => ({
      symbols: node.childrenForFieldName('name').flatMap((n) => (n?.type === 'identifier' ? one(n.text, 'constant') : [])),
      stop: true,
    }),
    var_declaration: opaque,
    func_literal: opaque,
  },
};

// --- Java ---

const JAVA: LanguageRules = {
  nodes: {
    class_declaration: named('class', { inner: 'class' }),
    record_declaration: named('class', { inner: 'class' }),
    interface_declaration: named('interface', { inner: 'class' }),
    annotation_type_declaration: named('interface'),
    enum_declaration: named('enum', { inner: 'class' }),
    method_declaration: method,
    constructor_declaration: method,
    // A record's `R { … }`: a constructor too, and its body holds locals only.
    compact_constructor_declaration: method,
    field_declaration: (node) => {
      const mods = node.namedChildren.find((c) => c?.type === 'modifiers')?.text ?? '';
      const constant = /\bstatic\b/.test(mods) && /\bfinal\b/.test(mods);
      return { symbols: constant ? declaratorNames(node, 'constant') : [], stop: true };
    },
    constant_declaration: (node) => ({ symbols: declaratorNames(node, 'constant'), stop: true }),
    lambda_expression: opaque,
  },
};

function declaratorNames(node: Node, kind: SymbolKind): Found[] {
  return node.childrenForFieldName('declarator').flatMap((d) => one(d?.childForFieldName('name')?.text, kind));
}

// --- C and C++ ---

/**
 * The declared name inside a C declarator chain (`*f(int)`, `(*fp)[3]`, `&get()`, `Foo::bar`),
 * whether it was qualified, and whether it names a function. The declarator nearest the name
 * decides that: `(*fp)(int)` is a pointer (to a function), `(*f(void))(int)` a function (that
 * returns one), `&get()` a function (that returns a reference).
 */
function declaredName(node: Node | null): { name: string; qualified: boolean; isFunction: boolean } | null {
  let isFunction = false;
  let qualified = false;
  for (let n = node; n; ) {
    switch (n.type) {
      case 'identifier':
      case 'field_identifier':
      case 'type_identifier':
      case 'operator_name':
      case 'destructor_name':
        return { name: n.text, qualified, isFunction };
      case 'operator_cast':
        return { name: castOperatorName(n), qualified, isFunction: true };
      case 'qualified_identifier':
        qualified = true;
        n = n.childForFieldName('name');
        break;
      case 'template_function':
        n = n.childForFieldName('name');
        break;
      case 'function_declarator':
        isFunction = true;
        n = n.childForFieldName('declarator');
        break;
      case 'parenthesized_declarator':
      case 'attributed_declarator':
        n = unfieldedDeclarator(n);
        break;
      case 'reference_declarator':
        isFunction = false;
        n = unfieldedDeclarator(n);
        break;
      case 'pointer_declarator':
      case 'array_declarator':
        isFunction = false;
        n = n.childForFieldName('declarator');
        break;
      default:
        n = n.childForFieldName('declarator');
    }
  }
  return null;
}

/** Children of a declarator that hold no name: a calling convention, an attribute, a parse error. */
const NOT_DECLARATORS = new Set(['ERROR', 'ms_call_modifier', 'attribute_declaration']);

/** The declarator inside one that the grammar gives no `declarator` field (`( … )`, `& …`, `… [[attr]]`). */
const unfieldedDeclarator = (node: Node): Node | null =>
  node.namedChildren.find((c) => c !== null && !NOT_DECLARATORS.has(c.type)) ?? null;

/** `operator bool`, `operator char*`: a conversion operator is named by its text up to the parameters. */
const castOperatorName = (node: Node): string => node.text.slice(0, node.text.indexOf('(')).replace(/\s+/g, ' ').trim();

const cFunction: Rule = (node, scope) => {
  const d = declaredName(node.childForFieldName('declarator'));
  return { symbols: one(d?.name, scope === 'class' || d?.qualified ? 'method' : 'function'), stop: true };
};

/** A struct, union, class or enum with a body (a bare `struct x` is only a reference). */
function tagged(kind: SymbolKind, inner?: Scope): Rule {
  return (node) => {
    if (!node.childForFieldName('body')) return { stop: true };
    return { symbols: one(field(node, 'name'), kind), ...(inner ? { inner } : { stop: true }) };
  };
}

/** `typedef … name;`: the typedef names; the walk goes on into an inline `struct tag {…}`. */
const typedef: Rule = (node) => ({
  symbols: node.childrenForFieldName('declarator').flatMap((d) => one(declaredName(d)?.name, 'type')),
});

const hasConstQualifier = (node: Node): boolean =>
  node.namedChildren.some((c) => c?.type === 'type_qualifier' && (c.text === 'const' || c.text === 'constexpr'));

/**
 * A declaration: in a C++ class body a member function declaration is a method; elsewhere a
 * const-qualified variable is a constant. Function prototypes are not symbols: the definition is.
 * A struct, class or enum defined in it (`struct a {…} inst;`, a class's `enum class E {…};`) is
 * walked into, as one standing alone is; initializers are not (`init_declarator` stops the walk).
 */
const declaration: Rule = (node, scope) => {
  const symbols: Found[] = [];
  for (const d of node.childrenForFieldName('declarator')) {
    const found = declaredName(d);
    if (!found) continue;
    if (found.isFunction) {
      if (scope === 'class') symbols.push({ name: found.name, kind: 'method' });
    } else if (scope === 'top' && hasConstQualifier(node)) symbols.push({ name: found.name, kind: 'constant' });
  }
  return { symbols, stop: !node.childForFieldName('type')?.childForFieldName('body') };
};

const C_NODES: Record<string, Rule> = {
  function_definition: cFunction,
  struct_specifier: tagged('struct'),
  union_specifier: tagged('struct'),
  enum_specifier: tagged('enum'),
  type_definition: typedef,
  preproc_def: named('constant'),
  preproc_function_def: opaque,
  declaration,
  init_declarator: opaque,
};

const C: LanguageRules = { nodes: C_NODES };

const CPP: LanguageRules = {
  wrappers: new Set(['template_declaration']),
  nodes: {
    ...C_NODES,
    struct_specifier: tagged('struct', 'class'),
    union_specifier: tagged('struct', 'class'),
    class_specifier: tagged('class', 'class'),
    namespace_definition: (node) => ({ symbols: one(field(node, 'name'), 'module'), inner: 'top' }),
    field_declaration: declaration,
    alias_declaration: named('type'),
    lambda_expression: opaque,
  },
};

// --- Ruby ---

const RUBY: LanguageRules = {
  nodes: {
    method: fn,
    singleton_method: method,
    class: named('class', { inner: 'class' }),
    module: named('module', { inner: 'class' }),
    singleton_class: into('class'),
    assignment: (node) => {
      const left = node.childForFieldName('left');
      return { symbols: left?.type === 'constant' ? one(left.text, 'constant') : [], stop: true };
    },
    lambda: opaque,
  },
};

// --- Elixir: everything is a call; `def…` macros are told apart by their target ---

const ELIXIR_FUNCTIONS = new Set(['def', 'defp', 'defmacro', 'defmacrop', 'defguard', 'defguardp', 'defdelegate', 'defn', 'defnp']);

const callTarget = (node: Node | null): string | null =>
  node?.type === 'call' ? (node.childForFieldName('target')?.type === 'identifier' ? node.childForFieldName('target')!.text : null) : null;

const firstArgument = (node: Node): Node | null =>
  node.namedChildren.find((c) => c?.type === 'arguments')?.firstNamedChild ?? null;

/** Operators whose left side is the head of a definition: a guard, and a type's `name :: type`. */
const HEAD_OPERATORS = new Set(['when', '::']);

/**
 * `def name(args) when guard` → name; `def name, do: …` → name; `@type name :: …` → name; an
 * operator defined as such (`def a <~> b`) → the operator.
 */
function headName(head: Node | null): string | null {
  if (!head) return null;
  if (head.type === 'binary_operator') {
    const operator = field(head, 'operator');
    return operator !== null && HEAD_OPERATORS.has(operator) ? headName(head.childForFieldName('left')) : operator;
  }
  if (head.type === 'identifier') return head.text;
  if (head.type === 'call') return field(head, 'target');
  return null;
}

/** The name of the `defmodule` a node sits in, for `defstruct`. */
function enclosingModule(node: Node): string | null {
  for (let n = node.parent; n; n = n.parent) {
    if (callTarget(n) === 'defmodule') return firstArgument(n)?.text ?? null;
  }
  return null;
}

const TYPE_ATTRIBUTES = new Set(['type', 'typep', 'opaque']);

const ELIXIR: LanguageRules = {
  nodes: {
    call: (node) => {
      const target = callTarget(node);
      if (target === null) return null;
      if (target === 'defmodule') return { symbols: one(firstArgument(node)?.text, 'module'), inner: 'class' };
      if (target === 'defprotocol') return { symbols: one(firstArgument(node)?.text, 'interface'), inner: 'class' };
      if (ELIXIR_FUNCTIONS.has(target)) return { symbols: one(headName(firstArgument(node)), 'function'), stop: true };
      if (target === 'defstruct') return { symbols: one(enclosingModule(node), 'struct'), stop: true };
      return null;
    },
    unary_operator: (node) => {
      const operand = node.childForFieldName('operand');
      const attr = callTarget(operand);
      if (!operand || !attr || !TYPE_ATTRIBUTES.has(attr)) return { stop: true };
      return { symbols: one(headName(firstArgument(operand)), 'type'), stop: true };
    },
    anonymous_function: opaque,
  },
};

export const RULES: Record<LanguageId, LanguageRules> = {
  rust: RUST,
  python: PYTHON,
  typescript: TYPESCRIPT,
  tsx: TYPESCRIPT,
  javascript: { nodes: JAVASCRIPT_NODES, attached: decorator },
  go: GO,
  java: JAVA,
  c: C,
  cpp: CPP,
  ruby: RUBY,
  elixir: ELIXIR,
};

const TYPESCRIPT_PROBE = { source: 'interface I {}\nclass C {\n  m() {}\n}\nfunction f() {}\n', symbols: ['interface I', 'class C', 'method m', 'function f'] };

/**
 * A few lines of each language and what the rules find in them (`kind name`, in line order). A
 * grammar that loads but is another language's, or a version whose node types or fields the rules
 * do not know, finds something else (usually nothing), and would leave every file of the language
 * without symbols: the extractor checks each grammar against its probe before using it.
 */
export const PROBES: Record<LanguageId, { source: string; symbols: string[] }> = {
  rust: { source: 'struct S {}\nimpl S {\n    fn m(&self) {}\n}\nfn f() {}\n', symbols: ['struct S', 'method m', 'function f'] },
  python: { source: 'class C:\n    def m(self):\n        pass\n\ndef f():\n    pass\n', symbols: ['class C', 'method m', 'function f'] },
  typescript: TYPESCRIPT_PROBE,
  tsx: TYPESCRIPT_PROBE,
  javascript: { source: 'class C {\n  m() {}\n}\nfunction f() {}\n', symbols: ['class C', 'method m', 'function f'] },
  go: { source: 'package p\n\ntype S struct{}\n\nfunc (s S) M() {}\n\nfunc F() {}\n', symbols: ['struct S', 'method M', 'function F'] },
  java: { source: 'class C {\n    void m() {}\n}\n', symbols: ['class C', 'method m'] },
  c: { source: 'struct s {\n    int a;\n};\nint f(void) { return 0; }\n', symbols: ['struct s', 'function f'] },
  cpp: { source: 'class C {\n    void m();\n};\nint f() { return 0; }\n', symbols: ['class C', 'method m', 'function f'] },
  ruby: { source: 'class C\n  def m\n  end\nend\n', symbols: ['class C', 'method m'] },
  elixir: { source: 'defmodule M do\n  def f, do: 1\nend\n', symbols: ['module M', 'function f'] },
};
