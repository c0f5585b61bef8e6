/**
 * Which command a command line names, read one way wherever oclif's path looks (oclif-run.ts, the
 * help class). oclif folds every word before the first flag into the id (`issue list extra` is
 * `issue:list:extra`), which would let a plugin's `issue list extra` take over grit's `issue list`.
 */
import type { Command, Interfaces } from '@oclif/core';

/** The words before the first flag: a command's name, maybe followed by its arguments. */
export function leadingWords(argv: readonly string[]): string[] {
  const flag = argv.findIndex((a) => a.startsWith('-'));
  return flag === -1 ? [...argv] : argv.slice(0, flag);
}

const namesSomething = (config: Interfaces.Config, id: string): boolean => config.findCommand(id) !== undefined || config.findTopic(id) !== undefined;

/**
 * The command `argv` names: the longest run of its first words that names a command or a topic,
 * when that run names a command. The words after it are that command's arguments, whatever a
 * plugin may call them. Undefined when the run ends on a topic or names nothing.
 */
export function namedCommand(config: Interfaces.Config, argv: readonly string[]): Command.Loadable | undefined {
  const words = leadingWords(argv);
  let n = 0;
  while (n < words.length && namesSomething(config, words.slice(0, n + 1).join(':'))) n++;
  return n === 0 ? undefined : config.findCommand(words.slice(0, n).join(':'));
}
