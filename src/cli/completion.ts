/**
 * The bash completion script oclif's plugin-autocomplete writes (its template for topics separated
 * by spaces) offers a topic once for each command under it: `grit d<TAB>` answered `daemon daemon
 * daemon db db db doctor`, `grit <TAB>` `issue` eighteen times. readline hides the repeats from an
 * interactive shell, but not from anything else that reads the answer (a wrapper, a test, fzf).
 * grit's commands are each listed once; the repeats come from the script cutting each command to
 * the word being completed, so the script's last step offers each word once, in the order found.
 */
import type { Command, Config } from '@oclif/core';

const OFFER = 'COMPREPLY=($(compgen -W "$opts" -- "${cur}"))';
const OFFER_ONCE = `COMPREPLY=($(compgen -W "$opts" -- "\${cur}" | awk '!seen[$0]++'))`;

/** The plugins whose commands write the completion scripts: `autocomplete`, and `plugins` (the autocomplete plugin's install and uninstall hook). */
const WRITERS = ['@oclif/plugin-autocomplete', '@oclif/plugin-plugins'];

/**
 * The script with each word offered once. A template without that step (another version of the
 * plugin) is left as it is, repeats and all, rather than breaking completion: the plugin test says so.
 */
const offeringEachWordOnce = (script: string): string => script.replace(OFFER, OFFER_ONCE);

/** Makes the bash completion that `command` may write offer each word once (`offeringEachWordOnce`). */
export async function completeEachWordOnce(config: Config, command: Command.Loadable | undefined): Promise<void> {
  if (!command || !WRITERS.includes(command.pluginName ?? '')) return;
  const create = await config.findCommand('autocomplete:create')?.load();
  if (!create) return;
  const proto = create.prototype as object;
  const script = Object.getOwnPropertyDescriptor(proto, 'bashCompletionFunction')?.get;
  if (!script) return;
  Object.defineProperty(proto, 'bashCompletionFunction', {
    get(this: object) {
      return offeringEachWordOnce(script.call(this));
    },
  });
}
