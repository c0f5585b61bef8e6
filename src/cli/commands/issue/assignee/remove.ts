import { memberCommand } from '../../../define.js';

export default memberCommand('IssueAssigneeRemove', 'assignee', 'remove');
