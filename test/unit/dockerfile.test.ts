// The container image, checked without a Docker engine (there is none here): the Dockerfile's
// stages, user, entrypoint and what it copies; the build context .dockerignore lets through; and
// that the code the image runs needs only production dependencies.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT, projectPath } from '../support/project.js';

interface Instruction {
  command: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Dockerfile → stages of instructions (comments dropped, continuation lines joined). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of lines) {
    const [command, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (command!.toUpperCase() === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: match![1]!, ...(match![2] ? { name: match![2] } : {}), instructions: [] });
    } else {
      expect(stages.length, `${line} before any FROM`).to.be.above(0);
      stages.at(-1)!.instructions.push({ command: command!.toUpperCase(), args });
    }
  }
  return stages;
}

/**
 * Docker's .dockerignore semantics: patterns in order, the last that matches a path (or one of
 * its parent directories) decides, `!` re-includes; `*` and `?` stay within a path segment, `**`
 * spans segments.
 */
function dockerIgnored(patterns: readonly string[], file: string): boolean {
  let ignored = false;
  const candidates = file.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = path.posix.normalize((negated ? raw.slice(1) : raw).trim()).replace(/\/$/, '');
    const source = pattern
      .split(/(\*\*|\*|\?)/)
      .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part === '?' ? '[^/]' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const regex = new RegExp(`^${source}$`);
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !negated;
  }
  return ignored;
}

function dockerignorePatterns(): string[] {
  return readFileSync(projectPath('.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The files of the repository (git's view: tracked and untracked-but-not-ignored). */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return out.split('\n').filter((file) => file !== '');
}

describe('container image (Dockerfile, checked statically)', () => {
  const stages = parseDockerfile(readFileSync(projectPath('Dockerfile'), 'utf8'));
  const final = stages.at(-1)!;
  const patterns = dockerignorePatterns();
  const instructions = (stage: Stage, command: string) => stage.instructions.filter((i) => i.command === command);

  it('the .dockerignore matcher follows Docker semantics (so the checks below can fail)', () => {
    expect(dockerIgnored(['*', '!src/'], 'src/cli/app.ts')).to.equal(false);
    expect(dockerIgnored(['*', '!src/'], 'test/unit/x.ts')).to.equal(true);
    expect(dockerIgnored(['node_modules'], 'node_modules/yaml/index.js')).to.equal(true);
    expect(dockerIgnored(['**/*.md', '!README.md'], 'docs/a.md')).to.equal(true);
    expect(dockerIgnored(['**/*.md', '!README.md'], 'README.md')).to.equal(false);
    expect(dockerIgnored(['test'], 'src/test.ts')).to.equal(false);
  });

  it('is multi-stage: it compiles in one stage and runs on a distroless base without a shell', () => {
    expect(stages.length).to.be.at.least(2);
    expect(final.from).to.match(/^gcr\.io\/distroless\/nodejs20-debian12(:nonroot)?(@sha256:[0-9a-f]{64})?$/);
    // Nothing runs in the final stage: a distroless image has no shell for RUN to use.
    expect(instructions(final, 'RUN')).to.deep.equal([]);
    const build = stages.find((stage) => instructions(stage, 'RUN').some((i) => i.args.includes('tsc -p tsconfig.build.json')));
    expect(build, 'a stage that compiles with tsconfig.build.json').to.not.equal(undefined);
    expect(instructions(build!, 'RUN').map((i) => i.args).join('\n')).to.contain('npm ci');
  });

  it('runs as a non-root user, the same uid the Deployment sets', () => {
    const users = instructions(final, 'USER');
    expect(users).to.have.length(1);
    const [uid, gid] = users[0]!.args.split(':');
    expect(Number(uid)).to.be.above(0);
    expect(Number(gid ?? uid)).to.be.above(0);
    const deployment = parseAllDocuments(readFileSync(projectPath('manifests/base/deployment.yaml'), 'utf8'))[0]!.toJS() as {
      spec: { template: { spec: { securityContext: { runAsUser: number; runAsGroup: number } } } };
    };
    expect(deployment.spec.template.spec.securityContext.runAsUser).to.equal(Number(uid));
    expect(deployment.spec.template.spec.securityContext.runAsGroup).to.equal(Number(gid));
  });

  it('ships production dependencies only: node_modules comes from an `npm ci --omit=dev` stage, and the code it runs imports nothing else', () => {
    const copies = instructions(final, 'COPY');
    const modules = copies.find((copy) => /node_modules/.test(copy.args));
    const from = /--from=(\S+)/.exec(modules?.args ?? '')?.[1];
    const depsStage = stages.find((stage) => stage.name === from);
    expect(depsStage, 'node_modules copied from a named stage').to.not.equal(undefined);
    expect(instructions(depsStage!, 'RUN').map((i) => i.args).join('\n')).to.match(/npm ci [^\n]*--omit=dev/);
    // Only compiled src/ and package.json (read for the version) come from elsewhere.
    expect(copies.filter((copy) => copy !== modules).map((copy) => copy.args.replace(/--from=\S+\s+/, ''))).to.deep.equal(['/src/dist/src ./dist/src', 'package.json ./']);

    const manifest = JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        if (statSync(file).isDirectory()) walk(file);
        else if (file.endsWith('.ts')) {
          // Static imports and re-exports (`... from 'x'`, `import 'x'`) and dynamic `import('x')`.
          const statements = /(?:^|\n)\s*(?:import|export)\s[^;'"`]*?\sfrom\s*'([^'.][^']*)'|(?:^|\n)\s*import\s*'([^'.][^']*)'|\bimport\(\s*'([^'.][^']*)'\s*\)/g;
          for (const match of readFileSync(file, 'utf8').matchAll(statements)) {
            const specifier = (match[1] ?? match[2] ?? match[3])!;
            if (specifier.startsWith('node:')) continue;
            imported.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
          }
        }
      }
    };
    walk(projectPath('src'));
    expect(imported.size).to.be.above(2);
    for (const name of imported) expect(Object.keys(manifest.dependencies), `src imports ${name}`).to.include(name);
    for (const name of Object.keys(manifest.dependencies)) expect([...imported], `dependency ${name} is never imported by src/`).to.include(name);
  });

  it('the entrypoint is the CLI, in exec form, with the memory setting the benchmarks measured; the default command is run', () => {
    const entrypoint = JSON.parse(instructions(final, 'ENTRYPOINT')[0]!.args) as string[];
    expect(entrypoint).to.deep.equal(['/nodejs/bin/node', '--max-semi-space-size=2', '/app/dist/src/cli/main.js']);
    expect(JSON.parse(instructions(final, 'CMD')[0]!.args)).to.deep.equal(['run']);
  });

  it('.dockerignore keeps tests, node_modules, dist, benches, docs and git out of the build context, and lets in what the build copies', () => {
    const files = repositoryFiles();
    const sent = files.filter((file) => !dockerIgnored(patterns, file));
    expect(sent.filter((file) => !file.startsWith('src/')).sort()).to.deep.equal(['package-lock.json', 'package.json', 'tsconfig.build.json', 'tsconfig.json']);
    expect(sent.filter((file) => file.startsWith('src/')).length).to.equal(files.filter((file) => file.startsWith('src/')).length);
    for (const excluded of ['test/unit/dockerfile.test.ts', 'node_modules/yaml/package.json', 'dist/src/cli/main.js', 'bench/render.ts', 'docs/design.md', '.git/HEAD', 'README.md']) {
      expect(dockerIgnored(patterns, excluded), excluded).to.equal(true);
    }
    // Every COPY from the context names something the context holds.
    for (const stage of stages) {
      for (const copy of instructions(stage, 'COPY').filter((c) => !c.args.includes('--from='))) {
        const sources = copy.args.split(/\s+/).slice(0, -1);
        for (const source of sources) expect(sent.some((file) => file === source || file.startsWith(`${source}/`)), `COPY ${source}`).to.equal(true);
      }
    }
  });

  it('the build stage compiles only files the context holds (tsconfig.build.json reads src/ and dependencies)', () => {
    const out = execFileSync(process.execPath, [projectPath('node_modules/typescript/bin/tsc'), '-p', projectPath('tsconfig.build.json'), '--listFilesOnly'], { encoding: 'utf8' });
    const files = out.split('\n').filter((file) => file !== '').map((file) => path.relative(PROJECT_ROOT, file));
    const own = files.filter((file) => !file.startsWith('node_modules/'));
    expect(own.length).to.be.above(10);
    for (const file of own) expect(dockerIgnored(patterns, file), file).to.equal(false);
  });
});
