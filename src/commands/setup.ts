/** `init`, `actor …` and `rebuild`: setting a repository and its actors up. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ActorConfig } from '../core/config.js';
import { diskFullError } from '../core/disk-full.js';
import { newSecretKey } from '../core/signing.js';
import { replaceFile } from '../core/replace-file.js';
import { leftBeside, removeLeft } from '../core/left-temp-files.js';
import { agentsMdPath } from './agents-md.js';
import { warnings } from '../core/warnings.js';
import { findRepo, type RepoPaths } from '../git/repo.js';
import { bool, oneLine, optText, text, type Args } from './args.js';
import { dataDirOf } from './data-dir.js';
import {
  actorLabelled,
  actorsDir,
  actorsHere,
  chooseDefault,
  ensureSigningKey,
  findActor,
  listActors,
  loadRepoConfig,
  makeDefaultActor,
  newActor,
  newActorIn,
  readActorDir,
  refuseIdLikeLabel,
  repoConfigPath,
  selectActor,
  updateRepoConfig,
} from './actors.js';
import type { CommandEnv } from './context.js';

const AGENTS_SECTION = `## Grit

This repository tracks issues with grit, a git-backed issue tracker (\`grit --help\`): an event log in
git refs (\`refs/grit/*\`), never in the working tree. Use it instead of TODO files:

- \`grit actor init --label <agent> --json\` once — your own identity, so the log says who did what;
  then \`--actor <agent>\` on every command
- \`grit issue list --state open --json\` — open work; \`grit issue show <id> --json\` — one issue with its history
- \`grit lock acquire --resource issue:<id> --ttl 1h --json\` — claim an issue before working on it; exit 4 means
  someone else has it (pick other work). \`grit issue assignee add <id> --user <agent>\` shows it is yours;
  \`grit lock release --resource issue:<id>\` when done
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

/**
 * Adds the section by writing the whole file anew and renaming it into place: rewritten in place,
 * a write cut short (a full disk) would have truncated a file that is a person's.
 */
function writeAgentsMd(root: string): 'created' | 'appended' | 'unchanged' | 'not_written' {
  const path = agentsMdPath(root);
  if (typeof path !== 'string') {
    warnings.send(`AGENTS.md was not written: ${path.why} (make it a file of the working tree and run \`grit init\` again, or add the ## Grit section by hand)`);
    return 'not_written';
  }
  const current = existsSync(path) ? readFileSync(path, 'utf8') : null;
  // Whatever its level, case or spacing: a section someone wrote by hand is theirs to keep.
  if (current !== null && /^#{1,6}[ \t]+grit[ \t]*#*[ \t]*$/im.test(current)) return 'unchanged';
  const text = current === null ? `# Agents\n\n${AGENTS_SECTION}` : `${current}${current.endsWith('\n') ? '' : '\n'}\n${AGENTS_SECTION}`;
  // An init killed while it wrote left its temporary file in the working tree, where `git status`
  // shows it: this one, which is about to write the file again, deletes it (doctor's temp_files too).
  removeLeft(leftBeside(path));
  try {
    // The worktree may come from a clone: a link planted at the temporary file's name is never
    // written through (replace-file.ts makes it exclusively).
    replaceFile(path, text, { keepMode: true });
  } catch (err) {
    throw diskFullError(dirname(path), path, err, 'free space on that disk and run `grit init` again: the actor is set up, and AGENTS.md is as it was') ?? err;
  }
  return current === null ? 'created' : 'appended';
}

/**
 * Sets the repository up. In this order, so that a failure or a stop at any point leaves either
 * the actor whole and the default or nothing of it, and a retry finishes the job with one actor
 * (new-actor.ts, actors.ts makeDefaultActor): the actor (config, key), the repo config naming it,
 * AGENTS.md. `--generate-key` on an actor that was there already gives it a key (docs/signing.md).
 */
export async function init(
  env: CommandEnv,
  args: Args,
): Promise<{ repo_root: string; actor: ActorInfo; config_path: string; agents_md: string; already_initialized: boolean }> {
  const repo = findRepo(env.options.cwd);
  // Set up before: it had its default actor. Said so that a second `grit init` is seen to change nothing new.
  const already = loadRepoConfig(repo).default_actor !== undefined;
  const generateKey = bool(args, 'generate_key');
  let actor = selectActor(repo, env.options, { setUp: true, secret: generateKey ? newSecretKey() : undefined });
  if (generateKey) actor = ensureSigningKey(repo, actor);
  // An actor in an outside data dir (GRIT_HOME) cannot be the repo default: others would not find it.
  const inRepo = actor.dir === join(actorsDir(repo), actor.config.actor_id);
  const current = loadRepoConfig(repo).default_actor;
  if (inRepo && (!current || current === actor.config.actor_id)) chooseDefault(repo, actor);
  else if (!existsSync(repoConfigPath(repo))) updateRepoConfig(repo, {});
  const agents = bool(args, 'no_agents_md') ? 'skipped' : writeAgentsMd(repo.root);
  return { repo_root: repo.root, actor: describe(repo, actor), config_path: repoConfigPath(repo), agents_md: agents, already_initialized: already };
}

/**
 * A new actor; with a label that an actor here already has, that actor (`created: false`), so
 * that an agent's set-up may run every session without making itself a new identity each time.
 * Given a data dir (`--data-dir`, GRIT_HOME), the actor is made there (directories and all), or is
 * the one already there: the way to make an actor outside the repository, which other commands
 * refuse to do (selectActor). Such an actor is never the repo default: others would not find it.
 * In the repository, the first actor becomes the default, made as `init` makes it; a new one made
 * while there is no default but other actors are (a lost repo config) does not push them aside
 * (selectActor's noDefaultActor): `grit actor use` names the default.
 */
export async function actorInit(env: CommandEnv, args: Args): Promise<{ actor: ActorInfo; created: boolean }> {
  const repo = findRepo(env.options.cwd);
  // Trimmed as issue labels are, so `--label " bot"` finds the actor `bot` (docs/decisions.md).
  const label = oneLine(optText(args, 'label')?.trim(), 'label') ?? '';
  const dataDir = dataDirOf(env.options);
  const generateKey = bool(args, 'generate_key');
  const secret = generateKey ? newSecretKey() : undefined;
  const found = dataDir ? readActorDir(dataDir) : actorLabelled(listActors(repo), label);
  // Only this repository's actors are selected by --actor; one in a data dir is not.
  if (!found && !dataDir) refuseIdLikeLabel(repo, label);
  const noDefault = !dataDir && !loadRepoConfig(repo).default_actor;
  const firstInRepo = noDefault && actorsHere(repo).length === 0;
  let actor = found ?? (dataDir ? newActorIn(repo, dataDir, label, secret) : firstInRepo ? makeDefaultActor(repo, label, secret) : newActor(repo, label, secret));
  if (found && generateKey) actor = ensureSigningKey(repo, found);
  if (found && noDefault) chooseDefault(repo, actor);
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
  chooseDefault(repo, actor);
  return { actor: describe(repo, actor) };
}
