import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({ ...ACTIONS['actor:current'], description: 'Show the actor commands act as here' });
