// The package as users get it: `npm pack` of this repository (its prepack builds dist/), and
// throwaway projects that install that tarball. The install is offline: the project's lockfile
// pins the tarball and, for its dependencies, the versions and integrity hashes this
// repository's own lockfile pins, so npm takes every one from its cache.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makeRoot, repoRoot, type CliResult } from '../generator/support.ts';
import { sleep } from '../support/net.ts';

/** Runs a program to its end; never rejects on a non-zero exit. */
export function exec(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function ok(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await exec(cmd, args, cwd);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * `npm pack` of the repository into a fresh folder; the tarball's path. Its prepack rebuilds
 * dist/, so test files running side by side pack one at a time (a lock folder in test/.tmp).
 */
export async function pack(): Promise<string> {
  const dest = makeRoot('pack');
  const out = await holding(join(repoRoot, 'test', '.tmp', 'pack.lock'), () => ok('npm', ['pack', '--pack-destination', dest, '--json'], repoRoot));
  const [packed] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[];
  return join(dest, basename(packed!.filename));
}

/** Runs `fn` holding the lock `dir` (made by mkdir, which only one process can do). */
async function holding<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a run that was killed: no pack takes ten minutes.
      const age = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 600_000) rmSync(dir, { recursive: true, force: true });
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tarball's file list (paths inside package/). */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const out = await ok('tar', ['-tzf', tarball], repoRoot);
  return out
    .split('\n')
    .filter(Boolean)
    .map((p) => p.replace(/^package\//, ''));
}

export interface ProjectOptions {
  /** package.json "type"; absent: CommonJS, npm's default. */
  type?: 'module';
  /** More package.json keys. */
  extra?: Record<string, unknown>;
}

/** A fresh project depending on `tarball`, installed offline with `npm ci`; its root. */
export async function installProject(label: string, tarball: string, o: ProjectOptions = {}): Promise<string> {
  const root = makeRoot(label);
  const file = basename(tarball);
  copyFileSync(tarball, join(root, file));
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown> & { dev?: boolean }> };
  const self = lock.packages['']!;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
  const pkg = { name: `project-${label}`, version: '1.0.0', private: true, ...(o.type ? { type: o.type } : {}), dependencies: { wirestate: `file:${file}` }, ...o.extra };
  const packages: Record<string, unknown> = {
    '': { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies },
    'node_modules/wirestate': { version: self.version, resolved: `file:${file}`, integrity, dependencies: self.dependencies, bin: self.bin, engines: self.engines },
  };
  // The dependencies' tree as this repository has it, without what only its development needs.
  for (const [path, entry] of Object.entries(lock.packages)) if (path.startsWith('node_modules/') && !entry.dev) packages[path] = entry;
  writeFileSync(join(root, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify({ name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages }, null, 2) + '\n');
  await ok('npm', ['ci', '--offline', '--no-audit', '--no-fund'], root);
  return root;
}

/** Runs the installed `wirestate` command (node_modules/.bin/wirestate, as npx does) in `root`. */
export function wirestate(root: string, ...args: string[]): Promise<CliResult> {
  return exec(join(root, 'node_modules', '.bin', 'wirestate'), args, root);
}
