import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['db:stats'],
  description: 'Store statistics and whether a rebuild is recommended',
});
