import { defineCommand } from '../../define.js';
import { renderActor } from '../../render.js';

export default defineCommand({ ipc: 'ActorCurrent', description: 'Show the actor commands act as here', render: renderActor });
