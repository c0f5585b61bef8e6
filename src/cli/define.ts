/** Builds a grit command class from a small description, so each command file is only what differs. */
import { readFile } from 'node:fs/promises';
import { Args as OArgs, Flags } from '@oclif/core';
import { GritError } from '../core/errors.js';
import type { Args } from '../commands/args.js';
import { GritCommand, type Parsed } from './base.js';
import { renderWrite } from './render.js';

export interface CommandSpec<D> {
  ipc: string;
  description: string;
  examples?: string[];
  args?: Record<string, any>;
  flags?: Record<string, any>;
  toArgs?: (p: Parsed) => Args | Promise<Args>;
  render: (data: D) => string;
}

export function defineCommand<D = any>(spec: CommandSpec<D>): typeof GritCommand {
  return class extends GritCommand {
    static description = spec.description;
    static examples = spec.examples ?? [];
    static args = spec.args ?? {};
    static flags = spec.flags ?? {};
    protected readonly ipcName = spec.ipc;
    protected toArgs(p: Parsed): Args | Promise<Args> {
      return spec.toArgs ? spec.toArgs(p) : {};
    }
    protected render(data: D): string {
      return spec.render(data);
    }
  } as unknown as typeof GritCommand;
}

export const issueArg = {
  id: OArgs.string({ required: true, description: 'issue id or a unique prefix of at least 4 hex characters' }),
};

export const bodyFlags = {
  body: Flags.string({ description: 'text (Markdown)' }),
  'body-file': Flags.string({ description: 'read the text from a file, or - for standard input' }),
};

/** `--body` or `--body-file` (with `-` for standard input). */
export async function readBody(flags: Record<string, unknown>): Promise<string | undefined> {
  const file = flags['body-file'] as string | undefined;
  if (file === undefined) return flags.body as string | undefined;
  if (flags.body !== undefined) {
    throw new GritError('invalid_args', 'give --body or --body-file, not both');
  }
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    throw new GritError('not_found', `cannot read ${file}: ${(err as Error).message}`, { details: { file } });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `issue label add|remove` and `issue assignee add|remove`: one flag naming the set member. */
export function memberCommand(ipc: string, set: 'label' | 'assignee', op: 'add' | 'remove'): typeof GritCommand {
  const field = set === 'label' ? 'label' : 'user';
  return defineCommand({
    ipc,
    description: op === 'add' ? `Add a ${set} to an issue` : `Remove a ${set} from an issue`,
    args: issueArg,
    flags: { [field]: Flags.string({ description: set, required: true }) },
    toArgs: ({ args, flags }) => ({ issue_id: args.id, [field]: flags[field] }),
    render: renderWrite(op === 'add' ? `added ${set} to` : `removed ${set} from`),
  });
}
