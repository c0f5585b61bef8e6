/**
 * A file's one-line summary: the first sentence of its leading comment (or Python module
 * docstring), at most 200 characters; empty when the file opens with code. License and
 * copyright headers are skipped, since they say nothing about the file.
 */
import { sliceWhole } from '../core/well-formed.js';
import type { LanguageId } from './languages.js';

const MAX = 200;
const BOILERPLATE = /copyright|spdx-license|licensed under|all rights reserved|^@license|^eslint|^prettier|^@ts-|^-\*-/i;

interface CommentSyntax {
  line: RegExp;
  block: RegExp;
}

const C_STYLE: CommentSyntax = { line: /^\/\/[/!]?\s?(.*)$/, block: /^\/\*+/ };
const HASH: CommentSyntax = { line: /^#\s?(.*)$/, block: /^("""|''')/ };
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
    if (line === '') {
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
    current.push(comment[1]);
  }
  flush();
  return blocks;
}

export function summarize(text: string, language: LanguageId): string {
  for (const block of leadingComments(text, SYNTAX(language))) {
    const clean = block.replace(/\s+/g, ' ').trim();
    if (clean === '' || BOILERPLATE.test(clean)) continue;
    const sentence = /^(.+?[.!?])(\s|$)/.exec(clean)?.[1] ?? clean;
    // Cut between code points: half an emoji is no text an event can hold (src/core/well-formed.ts).
    return sentence.length > MAX ? `${sliceWhole(sentence, MAX - 1)}…` : sentence;
  }
  return '';
}
