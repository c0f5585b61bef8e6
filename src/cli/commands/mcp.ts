import { Command, Flags } from '@oclif/core';
import { selectActor } from '../../commands/actors.js';
import { GritError, toGritError } from '../../core/errors.js';
import { findRepo, notADirectory } from '../../git/repo.js';
import { parseOrReport } from '../base.js';
import { sayReadingTerminal } from '../input.js';
import { printError } from '../output.js';
import { resolve } from 'node:path';

/** Not a GritCommand: it serves many commands over stdio instead of running one and printing it. */
export default class Mcp extends Command {
  static description =
    'Serve the Model Context Protocol over stdio: issue, label, lock, sync and memory tools for AI agents';

  static examples = [
    '<%= config.bin %> mcp',
    'claude mcp add grit -- <%= config.bin %> mcp',
    '{"mcpServers": {"grit": {"command": "<%= config.bin %>", "args": ["mcp", "--repo", "/path/to/repo"]}}}',
  ];

  static refusesGlobals = 'it serves many commands over stdio in JSON-RPC, through no daemon, and prints no result of its own';

  static flags = {
    repo: Flags.string({ description: 'repository to serve (default: the current directory)' }),
    actor: Flags.string({ description: 'actor to act as: its id, a unique prefix, or its label' }),
    'data-dir': Flags.string({ description: 'actor data directory (overrides --actor; env GRIT_HOME)' }),
  };

  async run(): Promise<void> {
    const parsed = await parseOrReport(this, () => this.parse(Mcp));
    if (!parsed) return;
    const { flags } = parsed;
    const options = { cwd: resolve(flags.repo ?? process.cwd()), actor: flags.actor, dataDir: flags['data-dir'] };
    const notDirectory = flags.repo === undefined ? null : notADirectory(options.cwd);
    if (notDirectory) {
      printError(
        new GritError('invalid_args', `--repo ${flags.repo}: ${notDirectory}`, {
          details: { repo: options.cwd },
          suggestion: "give --repo the repository's directory (or leave it out to serve the current one)",
        }),
        false,
      );
      return;
    }
    // A wrong --repo or --actor is the person's mistake at start-up, not an error in every later
    // tool call: said once, with the exit status the same mistake has in any command (an unknown
    // actor is not_found, 3; not a repository is the environment, 5).
    try {
      selectActor(findRepo(options.cwd), options);
    } catch (err) {
      printError(toGritError(err), false);
      return;
    }
    // Its client runs it; a person who started it by hand is told what the silence is.
    sayReadingTerminal("MCP requests (JSON-RPC, as an MCP client sends them: it starts `grit mcp` itself)");
    const { serveMcp } = await import('../../mcp/server.js');
    await serveMcp(options, this.config.version);
  }
}

