#!/usr/bin/env node
// Process entry point of `netpol-profiles`; everything testable lives in app.ts.
import { main, processIO } from './app.js';

// A reader that stops early (`... | head`) closes the pipe: stop quietly, as command-line tools do,
// rather than print a stack trace. Any other output error is one line and exit 2.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') process.stderr.write(`netpol-profiles: cannot write the output: ${error.message}\n`);
  process.exit(error.code === 'EPIPE' ? (typeof process.exitCode === 'number' ? process.exitCode : 0) : 2);
});

process.exitCode = await main(process.argv.slice(2), processIO);
