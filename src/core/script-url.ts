/**
 * Schemes that run code where a link is followed (a Markdown export opened in a browser):
 * `issue link add` refuses them, and the Markdown export never makes a link of one that another
 * writer synced. Browsers ignore whitespace and control characters inside a scheme, and so does
 * this check.
 */
const SCRIPT_SCHEME = /^(javascript|vbscript|data):/i;

export const isScriptUrl = (url: string): boolean => SCRIPT_SCHEME.test(url.replace(/[\s\u0000-\u001f]/g, ''));
