import { Args } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['actor:show'],
  description: 'Show an actor (the current one when no id is given)',
  args: { id: Args.string({ description: 'actor id, unique prefix, or label' }) },
});
