/**
 * Environment for spawned git: `base` (the command's: options.env, the caller's in a daemon), but
 * never prompting, and never with a caller's GIT_DIR & co. to redirect it. A module of its own:
 * repository discovery (safe-directory.ts) needs it without loading child_process.
 */
export function gitEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE', 'GIT_COMMON_DIR']) {
    delete env[k];
  }
  return env;
}
