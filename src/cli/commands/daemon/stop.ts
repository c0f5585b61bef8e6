import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['daemon:stop'],
  description: 'Stop the daemon after it finishes in-flight requests',
  examples: ['<%= config.bin %> daemon stop'],
});
