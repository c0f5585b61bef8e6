/**
 * A file's one-line summary: the first sentence of its leading comment (or Python module
 * docstring), at most 200 characters; empty when the file opens with code. License and
 * copyright headers and directives to tools are skipped, since they say nothing about the file.
 */
import { sliceWhole } from '../core/well-formed.js';
import type { LanguageId } from './languages.js';

const MAX = 200;
const LICENCE = /copyright|spdx-license|licensed under|all rights reserved|^@license/i;

/**
 * A comment that speaks to a tool, not about the file: a line of its own (never joined with the
 * comment after it) or a whole block comment. Tools read these case-sensitively, as here:
 * - build constraints and compiler directives: Go's `//go:build`, `//go:generate`, `// +build`;
 *   TypeScript's `/// <reference …/>`, `/// <amd-module …/>`, `// @ts-nocheck`; Flow's `@flow`, `@jsx` pragmas;
 * - encoding and editor cookies: `-*- coding: utf-8 -*-`, `coding:`/`encoding:`, `vim:` modelines;
 *   Ruby's magic comments (`frozen_string_literal:`, `warn_indent:`, `shareable_constant_value:`),
 *   Sorbet's `typed:`;
 * - linters' and formatters' switches: eslint, jshint, prettier-ignore, istanbul/c8 ignore,
 *   `nolint`/`NOLINT`, `clang-format`, `type: ignore`, `noqa`, `pylint:`, `mypy:`, `pyright:`, `fmt:`, `rubocop:`.
 */
const DIRECTIVE =
  /^(?:go:|\+build\b|<reference\b|<amd-module\b|@ts-|@flow\b|@jsx|-\*-|(?:en)?coding[:=]|vim?:|frozen_string_literal:|warn_indent:|shareable_constant_value:|typed:|eslint|jshint|prettier-ignore|(?:istanbul|c8) ignore|nolint\b|NOLINT|clang-format\b|type:\s*ignore|noqa\b|pylint:|mypy:|pyright:|fmt:|rubocop:)/;

interface CommentSyntax {
  line: RegExp;
  block: RegExp;
  /** Code that may stand before the comment: a JavaScript directive prologue (`"use strict";`). */
  prologue: RegExp | null;
}

const C_STYLE: CommentSyntax = { line: /^\/\/[/!]?\s?(.*)$/, block: /^\/\*+/, prologue: /^(['"])use [a-z ]+\1;?$/ };
const HASH: CommentSyntax = { line: /^#\s?(.*)$/, block: /^("""|''')/, prologue: null };
const SYNTAX = (language: LanguageId): CommentSyntax =>
  language === 'python' || language === 'ruby' || language === 'elixir' ? HASH : C_STYLE;

/** The file's opening comments, one entry per comment block. */
function leadingComments(text: string, syntax: CommentSyntax): string[] {
  const lines = text.split(/\r?\n/, 200);
  const blocks: string[] = [];
  let current: string[] = [];
  const flush = () => {
    if (current.length) blocks.push(current.join(' '));
    current = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (i === 0 && line.startsWith('#!')) continue;
    if (line === '' || syntax.prologue?.test(line)) {
      flush();
      continue;
    }
    const open = syntax.block.exec(line);
    if (open) {
      const close = open[0].startsWith('/*') ? '*/' : open[0];
      const body: string[] = [];
      let rest = line.slice(open[0].length);
      for (;;) {
        const end = rest.indexOf(close);
        if (end !== -1) {
          body.push(rest.slice(0, end));
          break;
        }
        body.push(rest);
        if (++i >= lines.length) break;
        rest = lines[i].trim().replace(/^\*(?!\/)\s?/, '');
      }
      flush();
      blocks.push(body.join(' '));
      continue;
    }
    const comment = syntax.line.exec(line);
    if (!comment) break;
    if (DIRECTIVE.test(comment[1])) flush();
    else current.push(comment[1]);
  }
  flush();
  return blocks;
}

export function summarize(text: string, language: LanguageId): string {
  for (const block of leadingComments(text, SYNTAX(language))) {
    const clean = block.replace(/\s+/g, ' ').trim();
    if (clean === '' || LICENCE.test(clean) || DIRECTIVE.test(clean)) continue;
    const sentence = /^(.+?[.!?])(\s|$)/.exec(clean)?.[1] ?? clean;
    // Cut between code points: half an emoji is no text an event can hold (src/core/well-formed.ts).
    return sentence.length > MAX ? `${sliceWhole(sentence, MAX - 1)}…` : sentence;
  }
  return '';
}
