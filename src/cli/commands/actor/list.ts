import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({ ...ACTIONS['actor:list'], description: 'List the actors of this repository' });
