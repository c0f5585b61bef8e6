import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['actor:use'],
  description: "Make an actor this repository's default",
  args: { id: Args.string({ required: true, description: 'actor id, unique prefix, or label' }) },
});
