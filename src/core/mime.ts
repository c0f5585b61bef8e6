/**
 * The MIME type an attachment gets when none is given (`issue attachment add` without --mime):
 * by the extension of its name, from a small table of common types; anything else is
 * `application/octet-stream`. A table, not a dependency: the name is all there is to go on (the
 * bytes never enter the WAL), and a wrong guess costs only a label that `--mime` overrides.
 */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: 'text/plain',
  text: 'text/plain',
  log: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  tsv: 'text/tab-separated-values',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  xml: 'application/xml',
  json: 'application/json',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  toml: 'application/toml',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  diff: 'text/x-diff',
  patch: 'text/x-diff',
  js: 'text/javascript',
  mjs: 'text/javascript',
  cjs: 'text/javascript',
  ts: 'text/x-typescript',
  tsx: 'text/x-typescript',
  py: 'text/x-python',
  rs: 'text/x-rust',
  go: 'text/x-go',
  java: 'text/x-java',
  c: 'text/x-c',
  h: 'text/x-c',
  cc: 'text/x-c++',
  cpp: 'text/x-c++',
  hpp: 'text/x-c++',
  rb: 'text/x-ruby',
  ex: 'text/x-elixir',
  exs: 'text/x-elixir',
  sh: 'text/x-shellscript',
  sql: 'application/sql',
};

export const DEFAULT_MIME = 'application/octet-stream';

/** The MIME type for a file named `name` by its extension (case-insensitive), or `DEFAULT_MIME`. */
export function mimeOfName(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_MIME; // no extension, or a dot file such as `.env`
  return BY_EXTENSION[base.slice(dot + 1).toLowerCase()] ?? DEFAULT_MIME;
}
