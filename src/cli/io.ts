// What a command needs from its process, passed in so commands run the same in tests as in `main`.

import type { Readable } from 'node:stream';

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => string;
  /** Standard input as a stream, for inputs read line by line (`diagnose -`); `readStdin` when absent. */
  openStdin?: () => Readable;
  env: NodeJS.ProcessEnv;
  /** Standard output is a terminal (a person reads it, not a pipe): problems are repeated at the end. */
  stdoutIsTerminal?: boolean;
}
