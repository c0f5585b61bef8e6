import { memberCommand } from '../../../define.js';

export default memberCommand('label', 'add');
