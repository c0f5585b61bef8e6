/** `init`, `actor …` and `rebuild`: setting a repository and its actors up. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActorConfig } from '../core/config.js';
import { findRepo, type RepoPaths } from '../git/repo.js';
import { bool, optText, text, type Args } from './args.js';
import {
  actorLabelled,
  actorsDir,
  createActor,
  dataDirOf,
  ensureSigningKey,
  findActor,
  listActors,
  loadRepoConfig,
  readActorDir,
  repoConfigPath,
  selectActor,
  updateRepoConfig,
} from './actors.js';
import type { CommandEnv } from './context.js';

const AGENTS_SECTION = `## Grit

This repository tracks issues with grit, a git-backed issue tracker (\`grit --help\`): an event log in
git refs (\`refs/grit/*\`), never in the working tree. Use it instead of TODO files:

- \`grit issue list --state open --json\` — open work; \`grit issue show <id> --json\` — one issue with its history
- \`grit issue create --title "…" --body "…" --label bug\` — record new work
- \`grit issue comment <id> --body "…"\`, \`grit issue close <id>\` — report progress
- \`grit context index\`, then \`grit context query <name> --json\` — where a symbol is defined;
  \`grit context project --json\` — shared project notes (\`grit context set <key> <value>\`)
- \`grit sync\` — exchange events with the remote (plain git fetch/push of refs/grit/*)

Every command takes \`--json\` and answers \`{"schema_version":1,"ok":…}\`; exit code 0 means success.
`;

export interface ActorInfo extends ActorConfig {
  data_dir: string;
  is_default: boolean;
}

function describe(repo: RepoPaths, a: { config: ActorConfig; dir: string }): ActorInfo {
  const def = loadRepoConfig(repo).default_actor;
  return { ...a.config, data_dir: a.dir, is_default: def === a.config.actor_id };
}

function writeAgentsMd(root: string): 'created' | 'appended' | 'unchanged' {
  const path = join(root, 'AGENTS.md');
  if (!existsSync(path)) {
    writeFileSync(path, `# Agents\n\n${AGENTS_SECTION}`);
    return 'created';
  }
  const current = readFileSync(path, 'utf8');
  // Whatever its level, case or spacing: a section someone wrote by hand is theirs to keep.
  if (/^#{1,6}[ \t]+grit[ \t]*#*[ \t]*$/im.test(current)) return 'unchanged';
  writeFileSync(path, `${current}${current.endsWith('\n') ? '' : '\n'}\n${AGENTS_SECTION}`);
  return 'appended';
}

export async function init(
  env: CommandEnv,
  args: Args,
): Promise<{ repo_root: string; actor: ActorInfo; config_path: string; agents_md: string }> {
  const repo = findRepo(env.options.cwd);
  const started = Date.now();
  let actor = selectActor(repo, env.options, { setUp: true });
  // --generate-key gives the actor a signing key unless it already has one (docs/signing.md).
  if (bool(args, 'generate_key')) actor = await ensureSigningKey(actor, actor.config.created_ts >= started);
  // An actor in an outside data dir (GRIT_HOME) cannot be the repo default: others would not find it.
  const inRepo = actor.dir === join(actorsDir(repo), actor.config.actor_id);
  if (inRepo && !loadRepoConfig(repo).default_actor) updateRepoConfig(repo, { default_actor: actor.config.actor_id });
  else if (!existsSync(repoConfigPath(repo))) updateRepoConfig(repo, {});
  const agents = bool(args, 'no_agents_md') ? 'skipped' : writeAgentsMd(repo.root);
  return { repo_root: repo.root, actor: describe(repo, actor), config_path: repoConfigPath(repo), agents_md: agents };
}

/**
 * A new actor; with a label that an actor here already has, that actor (`created: false`), so
 * that an agent's set-up may run every session without making itself a new identity each time.
 * Given a data dir (`--data-dir`, GRIT_HOME), the actor is made there (directories and all), or is
 * the one already there: the way to make an actor outside the repository, which other commands
 * refuse to do (selectActor). Such an actor is never the repo default: others would not find it.
 */
export async function actorInit(env: CommandEnv, args: Args): Promise<{ actor: ActorInfo; created: boolean }> {
  const repo = findRepo(env.options.cwd);
  const label = optText(args, 'label') ?? '';
  const dataDir = dataDirOf(env.options);
  const found = dataDir ? readActorDir(dataDir) : actorLabelled(listActors(repo), label);
  const base = found ?? createActor(dataDir ?? null, repo, label);
  const actor = bool(args, 'generate_key') ? await ensureSigningKey(base, found === null) : base;
  if (!dataDir && !loadRepoConfig(repo).default_actor) updateRepoConfig(repo, { default_actor: actor.config.actor_id });
  return { actor: describe(repo, actor), created: found === null };
}

export async function actorList(env: CommandEnv): Promise<{ actors: ActorInfo[] }> {
  const repo = findRepo(env.options.cwd);
  return { actors: listActors(repo).map((a) => describe(repo, a)) };
}

export async function actorShow(env: CommandEnv, args: Args): Promise<{ actor: ActorInfo }> {
  const repo = findRepo(env.options.cwd);
  // An empty id is refused, not taken as none: `actor show "$ID"` unset is not the current actor.
  const given = optText(args, 'id') !== undefined;
  const actor = given ? findActor(repo, text(args, 'id', { nonEmpty: true })) : selectActor(repo, env.options);
  return { actor: describe(repo, actor) };
}

export async function actorUse(env: CommandEnv, args: Args): Promise<{ actor: ActorInfo }> {
  const repo = findRepo(env.options.cwd);
  const actor = findActor(repo, text(args, 'id', { nonEmpty: true }));
  updateRepoConfig(repo, { default_actor: actor.config.actor_id });
  return { actor: describe(repo, actor) };
}
