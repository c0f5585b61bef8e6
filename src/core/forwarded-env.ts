/**
 * The environment variables a command reads while it runs (grit's own per-command settings, and
 * what git reads to reach a remote), which the CLI sends with each request it hands to the daemon:
 * the daemon runs the command with the caller's values, as `--no-daemon` would, not with those of
 * the shell it was started from (docs/daemon.md, "The caller's environment"). Settings of the
 * daemon itself (GRIT_RUN_DIR, GRIT_LOG_LEVEL, GRIT_DRAIN_TIMEOUT) are not among them.
 */

const NAMES = new Set([
  'GRIT_GIT_TIMEOUT',
  // ssh, and the agent and askpass helpers it talks to
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSH_VARIANT',
  'SSH_AUTH_SOCK',
  'GIT_ASKPASS',
  'SSH_ASKPASS',
  // http(s) and proxies, as git and curl read them
  'http_proxy',
  'https_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'all_proxy',
  'ALL_PROXY',
  'no_proxy',
  'NO_PROXY',
  'GIT_PROXY_COMMAND',
  'GIT_SSL_NO_VERIFY',
  'GIT_SSL_CAINFO',
  'GIT_SSL_CAPATH',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'CURL_CA_BUNDLE',
  // where git finds the user's own config (and `safe.directory` in it), and who root came from
  // through sudo (git's ownership rule: src/git/safe-directory.ts)
  'HOME',
  'XDG_CONFIG_HOME',
  'SUDO_UID',
  // git configuration given in the environment
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_CONFIG_COUNT',
  'GIT_CONFIG_PARAMETERS',
]);

/** `GRIT_GRAMMAR_<LANG>` (context index) and `GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>`: families of names. */
const FAMILIES = /^(GRIT_GRAMMAR_[A-Z0-9_]+|GIT_CONFIG_(KEY|VALUE)_\d+)$/;

export function isForwarded(name: string): boolean {
  return NAMES.has(name) || FAMILIES.test(name);
}

/** The forwarded variables set in `env` (the CLI's), to send with a request. */
export function forwardedEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && isForwarded(name)) out[name] = value;
  return out;
}

/**
 * The environment a command runs with in the daemon: the daemon's own, with every forwarded
 * variable as the caller has it (set to its value, or unset when the caller has none). A request
 * that sends none (an older client, a script using GritClient) runs with the daemon's.
 */
export function commandEnv(forwarded: Record<string, string> | null | undefined, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  if (!forwarded) return base;
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(base)) if (!isForwarded(name)) env[name] = value;
  return Object.assign(env, forwarded);
}
