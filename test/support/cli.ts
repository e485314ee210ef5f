// The built CLI as a user runs it: a child process in the project root, real files, exit code,
// stdout and stderr.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { CLI, PROJECT_ROOT } from './project.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Run {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    input: options.input ?? '',
    env: { PATH: process.env.PATH ?? '', ...options.env },
    maxBuffer: 256 * 2 ** 20,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Bad input gives one clear line, never a stack trace. */
export function expectNoStackTrace(run: Run): void {
  expect(run.stderr).not.to.match(/\n\s+at .+:\d+:\d+/);
  expect(run.stderr).not.to.contain('Error:');
}
