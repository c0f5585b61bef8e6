import { memberCommand } from '../../../define.js';

export default memberCommand('IssueLabelRemove', 'label', 'remove');
