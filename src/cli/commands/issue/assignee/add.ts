import { memberCommand } from '../../../define.js';

export default memberCommand('assignee', 'add');
