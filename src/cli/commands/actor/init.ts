import { Flags } from '@oclif/core';
import { defineCommand } from '../../define.js';
import { renderActor } from '../../render.js';

export default defineCommand({
  ipc: 'ActorInit',
  description: 'Create a new actor (an identity that writes events) in this repository',
  flags: {
    label: Flags.string({ description: 'a human label, e.g. "claude on laptop"' }),
    'generate-key': Flags.boolean({ description: 'make an Ed25519 key: every event this actor writes is signed' }),
  },
  toArgs: ({ flags }) => ({ label: flags.label, generate_key: flags['generate-key'] }),
  render: renderActor,
});
