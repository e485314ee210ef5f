// The built CLI as a user runs it: a child process in the project root, real files, exit code,
// stdout and stderr.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

/**
 * A fresh directory for each test of the calling `describe` (removed after it), and `file` to
 * write into it (parent directories made as needed; returns the whole path).
 */
export function scratchDirectory(prefix: string): { readonly dir: string; file(name: string, content: string): string } {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return {
    get dir() {
      return dir;
    },
    file(name, content) {
      const full = path.join(dir, name);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
      return full;
    },
  };
}
