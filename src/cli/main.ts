#!/usr/bin/env node
// Process entry point of `netpol-profiles`; everything testable lives in app.ts.
import { main, processIO } from './app.js';

process.exitCode = await main(process.argv.slice(2), processIO);
