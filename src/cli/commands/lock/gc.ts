import { defineCommand } from '../../define.js';
import { ACTIONS } from '../../actions.js';
import { lockFlags } from '../../lock-flags.js';

export default defineCommand({
  ...ACTIONS['lock:gc'],
  description: 'Delete expired lock refs (on the remote too when one is used)',
  flags: { ...lockFlags },
});
