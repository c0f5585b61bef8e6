import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { renderActor } from '../../render.js';

export default defineCommand({
  ipc: 'ActorShow',
  description: 'Show an actor (the current one when no id is given)',
  args: { id: Args.string({ description: 'actor id or unique prefix' }) },
  toArgs: ({ args }) => ({ id: args.id }),
  render: renderActor,
});
