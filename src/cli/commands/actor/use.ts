import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { renderActor } from '../../render.js';

export default defineCommand({
  ipc: 'ActorUse',
  description: "Make an actor this repository's default",
  args: { id: Args.string({ required: true, description: 'actor id or unique prefix' }) },
  toArgs: ({ args }) => ({ id: args.id }),
  render: renderActor,
});
