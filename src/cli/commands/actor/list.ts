import { defineCommand } from '../../define.js';
import { renderActors } from '../../render.js';

export default defineCommand({ ipc: 'ActorList', description: 'List the actors of this repository', render: renderActors });
