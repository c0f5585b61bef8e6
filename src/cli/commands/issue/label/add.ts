import { memberCommand } from '../../../define.js';

export default memberCommand('IssueLabelAdd', 'label', 'add');
