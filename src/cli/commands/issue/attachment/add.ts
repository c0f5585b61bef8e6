import { Args, Flags } from '@oclif/core';
import { defineCommand, issueArg } from '../../../define.js';
import { ACTIONS } from '../../../actions.js';

export default defineCommand({
  ...ACTIONS['issue:attachment:add'],
  description: "Record an attachment's metadata (name, SHA-256, MIME type); file bytes never enter the WAL",
  examples: [
    '<%= config.bin %> issue attachment add 1a2b ./crash.log --mime text/plain',
    'journalctl -u app | <%= config.bin %> issue attachment add 1a2b - --name app.log',
  ],
  args: { ...issueArg, file: Args.string({ description: 'a file to hash (- for standard input, piped in, with --name); it names the attachment unless --name does, and a --sha256 given too must be its hash' }) },
  flags: {
    name: Flags.string({ description: 'attachment name' }),
    sha256: Flags.string({ description: 'SHA-256 of the content, 64 hex characters (with a file: checked against it, nothing written if it differs)' }),
    mime: Flags.string({
      description: 'MIME type, parameters too (`file -b --mime`: text/plain; charset=us-ascii) (default: by the name\'s extension, e.g. .txt text/plain, .png image/png, .json application/json; else application/octet-stream)',
    }),
  },
});
