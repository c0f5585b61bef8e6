import { depEdgeCommand } from '../../../define.js';

export default depEdgeCommand('remove');
