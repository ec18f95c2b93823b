// Shared helpers for the generator tests: throwaway project roots and the real CLI.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { vi } from 'vitest';
import { main } from '../../generator/cli/main.ts';
import { TOOLKIT_ROOT } from '../../generator/sim/device.ts';

export const repoRoot = TOOLKIT_ROOT;
export const binPath = join(repoRoot, 'generator/bin/wirestate.mjs');

/** A fresh empty directory under the system temp folder; remove it with `removeRoot`. */
export function makeRoot(label: string): string {
  return mkdtempSync(join(tmpdir(), `wirestate-${label}-`));
}

export function removeRoot(root: string | undefined): void {
  if (root) rmSync(root, { recursive: true, force: true });
}

/** Writes `files` (project-relative path -> content) under `root`, creating folders. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/** Every file under `dir`, as relative path (with forward slashes) -> content; empty if `dir` is absent. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
  for (const d of files) {
    const full = join(d.parentPath, d.name);
    out.set(relative(dir, full).split('\\').join('/'), readFileSync(full, 'utf8'));
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

/** A temp project root holding copies of the repo's spec/, runtime-esp8266/ and generated/ (no templates). */
export function copyOfRepo(label: string, parts = ['spec', 'runtime-esp8266', 'generated']): string {
  const root = makeRoot(label);
  for (const part of parts) cpSync(join(repoRoot, part), join(root, part), { recursive: true });
  return root;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node generator/bin/wirestate.mjs ...args` in `cwd` (default: the repository). */
export function runCli(args: string[], cwd = repoRoot): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the wirestate CLI in process: exit status and what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ') + '\n'));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ') + '\n'));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(Buffer.from(chunk).toString('utf8')), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => (err.push(Buffer.from(chunk).toString('utf8')), true));
  try {
    const code = await main(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    vi.restoreAllMocks();
  }
}

/** A small machine for the scaffolding tests (stub, test): a lamp with a timer, implemented at `implementation`. */
export const lampSpec = (implementation: string) => `machine: lamp
doc: A lamp with a timer.
implementation: ${implementation}
events:
  toggle: The switch was pressed.
guards:
  daylight: The sun is up.
actions:
  light: Turn the light on.
  dark: Turn the light off.
timers:
  auto_off: {doc: Light stays on this long., ms: 60000}
initial: off
states:
  off:
    doc: Dark.
    on:
      toggle:
        - guard: daylight
        - target: on
  on:
    doc: Lit.
    entry: light
    exit: dark
    timers: auto_off
    on: {toggle: off, auto_off: off}
`;
