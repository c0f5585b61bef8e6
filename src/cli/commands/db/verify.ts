import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';

export default defineCommand({
  ...ACTIONS['db:verify'],
  description: 'Verify the signatures of every WAL event against the known public keys',
});
