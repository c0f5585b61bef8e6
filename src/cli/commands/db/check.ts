import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['db:check'],
  description: 'Check every stored event (ids recomputed from content) and the issue projections',
});
