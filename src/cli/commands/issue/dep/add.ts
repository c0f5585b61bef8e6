import { depEdgeCommand } from '../../../define.js';

export default depEdgeCommand('add');
