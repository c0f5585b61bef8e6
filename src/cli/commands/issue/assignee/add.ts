import { memberCommand } from '../../../define.js';

export default memberCommand('IssueAssigneeAdd', 'assignee', 'add');
