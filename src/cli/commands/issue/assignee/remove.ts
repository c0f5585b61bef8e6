import { memberCommand } from '../../../define.js';

export default memberCommand('assignee', 'remove');
