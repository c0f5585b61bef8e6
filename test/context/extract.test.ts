import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Extractor, grammarPath } from '../../src/context/ast-extract.js';
import { languageOf, type LanguageId } from '../../src/context/languages.js';
import { extractWithRegex } from '../../src/context/regex-extract.js';
import { summarize } from '../../src/context/summary.js';
import { fixture } from '../helpers/paths.js';
import { EXPECTED, show } from './_expected.js';

const SUMMARIES: Record<string, string> = {
  'sample.rs': 'Geometry helpers for the fixture.',
  'sample.py': 'Inventory model used by the fixture tests.',
  'sample.ts': 'Task queue primitives for the fixture.',
  'sample.tsx': 'Button component for the fixture.',
  'sample.js': 'Event helpers for the fixture.',
  'sample.go': "Package shapes holds the fixture's Go symbols.",
  'Sample.java': 'Account types for the fixture.',
  'sample.c': 'Ring buffer for the fixture.',
  'sample.cpp': 'Matrix library for the fixture.',
  'sample.rb': 'Billing module for the fixture.',
  'sample.ex': 'Cart logic for the fixture.',
};

const read = (name: string) => readFileSync(fixture(`context/${name}`), 'utf8');

test('the tree-sitter walk finds every fixture symbol with exact kinds and line ranges', async () => {
  const extractor = new Extractor();
  try {
    for (const [name, expected] of Object.entries(EXPECTED)) {
      const language = languageOf(name)!;
      const { symbols, engine } = await extractor.extract(language, read(name));
      assert.equal(engine, 'ast', name);
      assert.deepEqual(show(symbols), expected, name);
    }
    assert.deepEqual(extractor.warnings, []);
  } finally {
    await extractor.dispose();
  }
});

/** The AST walk's symbols of one source text, as `show` prints them; the walk must not fall back to regex. */
async function astSymbols(language: LanguageId, source: string): Promise<string[]> {
  const extractor = new Extractor();
  try {
    const { symbols, engine } = await extractor.extract(language, source);
    assert.equal(engine, 'ast');
    assert.deepEqual(extractor.warnings, []);
    return show(symbols);
  } finally {
    await extractor.dispose();
  }
}

test('C and C++ names behind parentheses and references; a pointer to a function is no function', async () => {
  const c = [
    'typedef int (*cb_t)(int);',
    'int (*handler_for(int sig))(int) { return 0; }',
    'static int (*default_handler)(int);',
    'static const cb_t table[2] = {0};',
  ].join('\n');
  assert.deepEqual(await astSymbols('c', c), ['type cb_t 1-1', 'function handler_for 2-2', 'constant table 4-4']);
  const cpp = [
    'class A {',
    '    A& operator=(const A&);',
    '    explicit operator bool() const;',
    '    const std::string& name() const { return n; }',
    '    A&& moved();',
    '    int (*callback)(int);',
    '};',
    'A& A::operator=(const A&) { return *this; }',
    'A::operator bool() const { return true; }',
    'int (&row(int i))[3] { return rows[i]; }',
  ].join('\n');
  assert.deepEqual(await astSymbols('cpp', cpp), [
    'class A 1-7', 'method operator= 2-2', 'method operator bool 3-3', 'method name 4-4', 'method moved 5-5',
    'method operator= 8-8', 'method operator bool 9-9', 'function row 10-10',
  ]);
});

test('C and C++: a type defined inside a declaration (a class\'s nested struct or enum, struct a {…} inst;) is a symbol', async () => {
  const cpp = [
    'class Parser {',
    ' public:',
    '  enum class State { Idle, Busy };',
    '  struct Options { bool strict; void reset(); };',
    '  std::function<void()> on_done = [] { struct Local {}; };',
    '};',
    'static const struct limits { int max; } LIMITS = { 8 };',
  ].join('\n');
  assert.deepEqual(await astSymbols('cpp', cpp), [
    'class Parser 1-6', 'enum State 3-3', 'struct Options 4-4', 'method reset 4-4', 'constant LIMITS 7-7', 'struct limits 7-7',
  ]);
  assert.deepEqual(await astSymbols('c', 'struct conn { int fd; } *pool;\nint n = sizeof(struct tmp { int a; });\n'), ['struct conn 1-1']);
});

test('TypeScript: the overload signatures of a method and the methods of a declared class (a .d.ts) are methods', async () => {
  const dts = [
    'export class Parser {',
    '  parse(text: string): Tree;',
    '  parse(bytes: Uint8Array): Tree;',
    '  parse(input: string | Uint8Array): Tree { return build(input); }',
    '}',
    'export declare class Tree {',
    '  walk(): Cursor;',
    '}',
    'interface Cursor { next(): boolean }',
  ].join('\n');
  assert.deepEqual(await astSymbols('typescript', dts), [
    'class Parser 1-5', 'method parse 2-2', 'method parse 3-3', 'method parse 4-4', 'class Tree 6-8', 'method walk 7-7', 'interface Cursor 9-9',
  ]);
});

test('Java: a record\'s compact constructor is a method, and the classes local to it are not symbols', async () => {
  const source = [
    'record Range(int lo, int hi) {',
    '    Range {',
    '        class Check { void run() {} }',
    '        if (lo > hi) throw new IllegalArgumentException();',
    '    }',
    '    int size() { return hi - lo; }',
    '}',
  ].join('\n');
  assert.deepEqual(await astSymbols('java', source), ['class Range 1-7', 'method Range 2-5', 'method size 6-6']);
});

test('Go: a const spec of several names gives each name, not the commas between them', async () => {
  assert.deepEqual(await astSymbols('go', 'package p\n\nconst (\n\tX, Y = 1, 2\n\tZ    = 3\n)\n'), [
    'constant X 4-4', 'constant Y 4-4', 'constant Z 5-5',
  ]);
});

test('Python: each upper-case name unpacked at once is a constant (A, B = 1, 2, in brackets too)', async () => {
  assert.deepEqual(await astSymbols('python', 'A_B, C_D = 1, 2\n(E, f) = 3, 4\n[G] = [5]\nx, Y = 6, 7\n'), [
    'constant A_B 1-1', 'constant C_D 1-1', 'constant E 2-2', 'constant G 3-3', 'constant Y 4-4',
  ]);
});

/** CommonJS exports by name (`exports.a = …`), and of a whole value or object (`module.exports = …`). */
const COMMONJS_BY_NAME = [
  'exports.parse = function () {};',
  'module.exports.render = (x) => x;',
  'exports.Widget = class {',
  '  draw() {}',
  '};',
  'exports.VERSION = 3;',
  'other.thing = function () {};',
  'function outer() { exports.inner = function () {}; }',
].join('\n');
const COMMONJS_WHOLE = [
  'module.exports = function parse() {};',
  'module.exports = class Widget {',
  '  draw() {}',
  '};',
  'module.exports = {',
  '  render() {},',
  '  "to-html": function () {},',
  '  format: (x) => x,',
  '  Tree: class {},',
  '  VERSION: 3,',
  '  [computed]: function () {},',
  '  parse,',
  '};',
  'module.exports = function () {};',
].join('\n');

test('JavaScript: a CommonJS export of a function or class is named by the export', async () => {
  assert.deepEqual(await astSymbols('javascript', COMMONJS_BY_NAME), [
    'function parse 1-1', 'function render 2-2', 'class Widget 3-5', 'method draw 4-4', 'function outer 8-8',
  ]);
});

test('JavaScript: module.exports of a named function or class, and of an object, gives its functions and classes', async () => {
  assert.deepEqual(await astSymbols('javascript', COMMONJS_WHOLE), [
    'function parse 1-1', 'class Widget 2-4', 'method draw 3-3', 'function render 6-6', 'function to-html 7-7',
    'function format 8-8', 'class Tree 9-9',
  ]);
});

test('the regex extractor (a grammar that does not load) finds the CommonJS exports the tree-sitter walk finds', async () => {
  for (const language of ['javascript', 'typescript'] as const) {
    for (const source of [COMMONJS_BY_NAME, COMMONJS_WHOLE, `${COMMONJS_WHOLE}\nmodule.exports = {\n  load(a) {\n    function inner() {}\n    return { x() {} };\n  },\n  async save() {},\n};\n`]) {
      assert.deepEqual(show(extractWithRegex(language, source)), await astSymbols(language, source), `${language}: ${source}`);
    }
  }
});

test('a symbol spans its attributes, doc comments and decorators: Rust #[…] and ///, TypeScript decorators as Python\'s', async () => {
  const rust = [
    '/// A point.',
    '///',
    '#[derive(Debug)]',
    '#[cfg_attr(test, derive(PartialEq))]',
    'pub struct Point { x: i32 }',
    'impl Point {',
    '    /** Its x. */',
    '    #[inline]',
    '    fn x(&self) -> i32 { self.x }',
    '}',
    '// A plain comment is not the item\'s.',
    '#[test]',
    'fn checks() {}',
    '//// Nor is one of four slashes.',
    'fn other() {}',
  ].join('\n');
  assert.deepEqual(await astSymbols('rust', rust), ['struct Point 1-5', 'method x 7-9', 'function checks 12-13', 'function other 15-15']);
  const ts = [
    '@Component({ selector: "app" })',
    'export class App {',
    '  @Input()',
    '  @Optional() name = () => 1;',
    '  @HostListener("click")',
    '  onClick() {}',
    '}',
    '@Injectable()',
    'class Service {}',
  ].join('\n');
  assert.deepEqual(await astSymbols('typescript', ts), ['class App 1-7', 'method name 3-4', 'method onClick 5-6', 'class Service 8-9']);
  assert.deepEqual(await astSymbols('python', '@dataclass\nclass P:\n    @property\n    def x(self):\n        pass\n'), ['class P 1-5', 'method x 3-5']);
});

test('Elixir: an operator defined with def is named by the operator, not by its left operand', async () => {
  const source = [
    'defmodule Pipe do',
    '  def left <~> right, do: {left, right}',
    '  defmacro left ~> right when is_list(left) do',
    '    right',
    '  end',
    '  def first(list) when is_list(list), do: hd(list)',
    '  @type pair :: {term, term}',
    'end',
  ].join('\n');
  assert.deepEqual(await astSymbols('elixir', source), [
    'module Pipe 1-8', 'function <~> 2-2', 'function ~> 3-5', 'function first 6-6', 'type pair 7-7',
  ]);
});

test('a tree thousands of levels deep is walked, not sent to the regex extractor', async () => {
  // A generated table: one top-level expression whose `+` chain nests a level per term.
  const terms = Array.from({ length: 10_000 }, (_, i) => `"s${i}"`).join(' +\n');
  const source = `function before() {}\nmodule.exports = ${terms};\nfunction after() {}\n`;
  assert.deepEqual(await astSymbols('javascript', source), ['function before 1-1', 'function after 10002-10002']);
});

test('languages by extension: every supported language has a fixture; others are not indexed', () => {
  const seen = new Set(Object.keys(EXPECTED).map((n) => languageOf(n)));
  assert.equal(seen.size, 11);
  assert.equal(languageOf('x/README.md'), null);
  assert.equal(languageOf('Makefile'), null);
  assert.equal(languageOf('a/b.H'), 'c');
  assert.equal(languageOf('lib/x.mjs'), 'javascript');
});

test('summaries are the first sentence of the leading comment; licence headers and code are skipped', () => {
  for (const [name, summary] of Object.entries(SUMMARIES)) assert.equal(summarize(read(name), languageOf(name)!), summary, name);
  assert.equal(summarize('// Copyright 2024 Someone\n\n// Parses things. More text.\nfn x() {}\n', 'rust'), 'Parses things.');
  assert.equal(summarize('#include <a.h>\nint x;\n', 'c'), '');
  assert.equal(summarize('#!/usr/bin/env python\n# Tool entry point\nimport os\n', 'python'), 'Tool entry point');
  assert.equal(summarize('/**\n * Multi-line\n * block. Second.\n */\n', 'typescript'), 'Multi-line block.');
  // Directives to tools are not the file's description, on a line or in a block of their own.
  const directives: [string, LanguageId, string][] = [
    ['//go:build linux\n// +build linux\n\n// Package netx dials things.\npackage netx\n', 'go', 'Package netx dials things.'],
    ['//go:build linux\n// Package netx dials things.\npackage netx\n', 'go', 'Package netx dials things.'],
    ['# frozen_string_literal: true\n\n# Billing helpers.\nmodule B; end\n', 'ruby', 'Billing helpers.'],
    ['# -*- coding: utf-8 -*-\n# Tool entry point.\nimport os\n', 'python', 'Tool entry point.'],
    ['# encoding: utf-8\n"""Parses things."""\n', 'python', 'Parses things.'],
    ['/// <reference types="node" />\n// Node helpers.\nexport {};\n', 'typescript', 'Node helpers.'],
    ['// @ts-nocheck\n/* eslint-disable no-console */\n// Logs things.\n', 'typescript', 'Logs things.'],
    ["'use strict';\n// Event helpers.\nmodule.exports = {};\n", 'javascript', 'Event helpers.'],
    ['/* @flow */\n/**\n * Typed helpers.\n */\n', 'javascript', 'Typed helpers.'],
  ];
  for (const [text, language, summary] of directives) assert.equal(summarize(text, language), summary, text);
  // An emoji across the cut is dropped whole: half of it (a lone surrogate) is no text an event can hold.
  for (const pad of [197, 198]) {
    const cut = summarize(`// ${'x'.repeat(pad)}😀 and more words than fit in a summary\n`, 'rust');
    assert.ok(cut.isWellFormed(), `${pad}: ${JSON.stringify(cut.slice(-3))}`);
    assert.ok(cut.length <= 200 && cut.endsWith('…'), `${pad}: ${cut.length}`);
  }
});

test('a grammar that does not load: a warning, and the regex extractor for that language only', async () => {
  const saved = process.env.GRIT_GRAMMAR_RUST;
  process.env.GRIT_GRAMMAR_RUST = '/nonexistent/tree-sitter-rust.wasm';
  const extractor = new Extractor();
  try {
    const rust = await extractor.extract('rust', read('sample.rs'));
    assert.equal(rust.engine, 'regex');
    assert.deepEqual(show(rust.symbols), show(extractWithRegex('rust', read('sample.rs'))));
    assert.equal(extractor.warnings.length, 1);
    assert.equal(extractor.warnings[0].language, 'rust');
    assert.match(extractor.warnings[0].message, /nonexistent.*regex extractor/);
    const go = await extractor.extract('go', read('sample.go'));
    assert.equal(go.engine, 'ast');
    // A second file of the failed language warns no more.
    await extractor.extract('rust', 'fn x() {}\n');
    assert.equal(extractor.warnings.length, 1);
  } finally {
    if (saved === undefined) delete process.env.GRIT_GRAMMAR_RUST;
    else process.env.GRIT_GRAMMAR_RUST = saved;
    await extractor.dispose();
  }
});

test('a grammar that loads but is another language\'s fails its probe: a warning, and the regex extractor', async () => {
  const saved = process.env.GRIT_GRAMMAR_TYPESCRIPT;
  process.env.GRIT_GRAMMAR_TYPESCRIPT = grammarPath('python');
  const extractor = new Extractor();
  try {
    const ts = await extractor.extract('typescript', read('sample.ts'));
    assert.equal(ts.engine, 'regex');
    assert.deepEqual(show(ts.symbols), show(extractWithRegex('typescript', read('sample.ts'))));
    assert.deepEqual(extractor.warnings.map((w) => w.language), ['typescript']);
    assert.match(
      extractor.warnings[0].message,
      /^grammar .*tree-sitter-python\.wasm loads but does not fit grit's typescript rules \(in a typescript sample it finds nothing instead of interface I, class C, method m, function f\); symbols come from the regex extractor$/,
    );
    assert.equal((await extractor.extract('python', read('sample.py'))).engine, 'ast', 'the grammar itself is fine for its own language');
  } finally {
    if (saved === undefined) delete process.env.GRIT_GRAMMAR_TYPESCRIPT;
    else process.env.GRIT_GRAMMAR_TYPESCRIPT = saved;
    await extractor.dispose();
  }
});

const moduleUrl = (path: string) => JSON.stringify(new URL(`../../src/${path}`, import.meta.url).href);

/** Hashes with grit's WebAssembly BLAKE2b long enough for V8 to tier its hot function up. */
const HASH_WORKER = `(async () => {
  const { blake2b256, loadFastHash } = await import(${moduleUrl('core/hash.js')});
  await loadFastHash();
  const data = new Uint8Array(4 << 20);
  for (let i = 0; i < 10; i++) { blake2b256(data); await new Promise((r) => setTimeout(r, 50)); }
})();`;

/**
 * Run under V8's compile trace: two grammars compile, then a worker thread starts (as the daemon
 * starts one for another repository) and hashes while this thread keeps parsing.
 */
const TIERING_PROBE = `
import { Worker } from 'node:worker_threads';
const { Extractor } = await import(${moduleUrl('context/ast-extract.js')});
const extractor = new Extractor();
await extractor.extract('python', ${JSON.stringify('def f():\n    pass\n')});
await extractor.extract('rust', 'fn f() {}');
console.log('=== grammars loaded');
const hashing = new Promise((resolve, reject) => new Worker(${JSON.stringify(HASH_WORKER)}, { eval: true }).once('exit', resolve).once('error', reject));
const big = ${JSON.stringify(read('sample.py').repeat(200))};
for (let i = 0; i < 10; i++) await extractor.extract('python', big);
await hashing;
await extractor.dispose();
`;

/** `Compiled function <module>#<index> using <tier>` lines of V8's trace: the tiers each module's functions got. */
function tiersByModule(trace: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [, module, tier] of trace.matchAll(/^Compiled function (0x[0-9a-f]+)#\d+ using (\w+)/gm)) {
    if (!out.has(module)) out.set(module, new Set());
    out.get(module)!.add(tier);
  }
  return out;
}

test('grammars compile to baseline code only; WebAssembly compiled later (the BLAKE2b of a new worker) still tiers up', () => {
  const r = spawnSync(process.execPath, ['--trace-wasm-compilation-times', '--input-type=module', '-e', TIERING_PROBE], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [before, after] = r.stdout.split('=== grammars loaded\n');
  const grammars = tiersByModule(before);
  const later = tiersByModule(after ?? '');
  assert.ok(grammars.size >= 2, `V8's trace is not as expected:\n${r.stdout.slice(0, 500)}`);
  for (const [module, tiers] of grammars) {
    const all = [...tiers, ...(later.get(module) ?? [])];
    assert.deepEqual(all.filter((t) => t !== 'Liftoff'), [], `grammar module ${module} left baseline code`);
  }
  const others = [...later].filter(([module]) => !grammars.has(module));
  assert.ok(others.some(([, tiers]) => tiers.has('TurboFan')), 'hash-wasm compiled after the grammars never left baseline code');
});

/** The fallback is approximate (indented functions are methods, ranges are heuristics); its output is pinned too. */
const REGEX_EXPECTED: Record<LanguageId, string[]> = {
  rust: [
    'constant MAX_POINTS 5-5', 'constant GREETING 6-6', 'type Coord 8-8', 'struct Point 11-14', 'enum Shape 16-19',
    'trait Area 21-26', 'method area 22-22', 'method describe 23-25', 'method area 29-34', 'module util 37-41',
    'method clamp 38-40', 'function main 43-45',
  ],
  python: [
    'constant MAX_ITEMS 5-5', 'class Item 9-20', 'method __init__ 12-13', 'method label 16-17', 'class Meta 19-20',
    'function load 24-27', 'method inner 25-26', 'function fetch_all 30-31',
  ],
  typescript: [
    'constant MAX_RETRIES 4-4', 'type TaskId 7-7', 'interface Task 9-12', 'enum Priority 14-17', 'class Queue 19-27',
    'method push 22-24', 'function createTask 29-31', 'function retry 33-35', 'module Internal 37-41', 'function helper 38-40',
  ],
  // The destructured parameter's braces close on the first line: the fallback's range ends there.
  tsx: ['interface ButtonProps 4-6', 'function Button 8-8', 'function Badge 12-12', 'class Panel 14-18', 'method render 15-17'],
  javascript: [
    'constant DEFAULT_TIMEOUT 2-2', 'function debounce 4-10', 'class Emitter 12-24', 'method constructor 13-15',
    'method on 17-19', 'method create 21-23', 'function once 26-29', 'function ids 31-33',
  ],
  go: [
    'constant MaxSides 6-6', 'type Color 13-13', 'struct Polygon 15-18', 'interface Shape 20-22',
    'function NewPolygon 24-26', 'method Area 28-30', 'method String 32-34',
  ],
  java: [
    'class Sample 6-28', 'constant LIMIT 7-7', 'method Sample 10-12', 'method getCount 14-16', 'interface Visitor 18-20',
    'enum Kind 22-25', 'class Pair 27-27',
  ],
  c: [
    'constant RING_SIZE 4-4', 'type u32 6-6', 'struct ring 8-12', 'type point_t 16-16', 'enum color 18-21',
    'function ring_full 23-25', 'function ring_alloc 27-30',
  ],
  cpp: [
    'module linalg 4-39', 'constant kMaxDim 6-6', 'type Row 8-8', 'struct Dim 10-13', 'enum Order 15-15',
    'class Matrix 17-26', 'function Matrix 28-28', 'method size 30-32', 'function identity 35-37',
  ],
  ruby: [
    'module Billing 2-20', 'constant RATE 3-3', 'class Invoice 5-19', 'method initialize 8-10', 'method empty 12-14',
    'method tax 16-18', 'function helper 22-24',
  ],
  elixir: [
    'module Shop.Cart 2-22', 'type item 7-7', 'function new 9-9', 'function add 11-13', 'function sum 15-17',
    'function debug 19-21', 'interface Shop.Priced 24-26', 'function price 25-25',
  ],
};

test('the regex fallback finds the declarations of each fixture', () => {
  for (const name of Object.keys(EXPECTED)) {
    const language = languageOf(name)!;
    assert.deepEqual(show(extractWithRegex(language, read(name))), REGEX_EXPECTED[language], name);
  }
});
