// Figures for `npm run bench`: how long the `wirestate` command takes, whole process (Node's
// start included), median of 5 runs, as the package runs it (the compiled dist/, built first)
// and as this repository runs it (the sources through tsx). The targets are issue 11's.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/wirestate.mjs', import.meta.url));
const builder = fileURLToPath(new URL('../bin/build.mjs', import.meta.url));

/**
 * CPU seconds (user and system) of the children this process has waited for, from Linux's
 * /proc (null elsewhere): on a busy machine wall time measures the load, CPU time the command.
 */
function childrenCpu(): number | null {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
    // After the command name: field 16 and 17 of stat(5) are cutime and cstime, in clock ticks (100 a second on Linux).
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** Median wall time and CPU time of 5 runs of `wirestate ...args` in `cwd`, in seconds. */
function median(args: string[], cwd: string, env: Record<string, string>): { wall: number; cpu: number | null } {
  const runs: { wall: number; cpu: number | null }[] = [];
  for (let i = 0; i < 5; i++) {
    const c0 = childrenCpu();
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ...env }, encoding: 'utf8' });
    const wall = (performance.now() - t0) / 1000;
    const c1 = childrenCpu();
    runs.push({ wall, cpu: c0 === null || c1 === null ? null : c1 - c0 });
    if (r.status !== 0) throw new Error(`wirestate ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  }
  const mid = <T>(xs: T[], key: (x: T) => number) => [...xs].sort((a, b) => key(a) - key(b))[2]!;
  const cpus = runs.map((r) => r.cpu);
  return { wall: mid(runs, (r) => r.wall).wall, cpu: cpus.includes(null) ? null : mid(cpus as number[], (x) => x) };
}

export function cliBench(root: string): void {
  const add = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
  const built = spawnSync(process.execPath, [builder], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`the build failed: ${built.stdout}${built.stderr}`);
  const dist = { WIRESTATE_FROM: 'dist' };
  const figure = ({ wall, cpu }: { wall: number; cpu: number | null }, target?: number) =>
    `${wall.toFixed(2)} s${cpu === null ? '' : ` (CPU ${cpu.toFixed(2)} s)`}${target === undefined ? '' : ` target <= ${target} s${wall <= target ? '' : cpu !== null && cpu <= target ? ': wall time over, CPU under (a busy machine?)' : ': MISSED'}`}`;
  median(['generate', '--check'], root, dist); // fills the render cache
  add('wirestate --version, package (median of 5)', figure(median(['--version'], root, dist), 0.3));
  add('wirestate --help, package (loads no command)', figure(median(['--help'], root, dist), 0.3));
  add('wirestate generate --check, this repo, package', figure(median(['generate', '--check'], root, dist), 1.0));
  add('wirestate generate, this repo, package', figure(median(['generate'], root, dist), 1.2));
  // No node_modules there, so no render cache: ts-morph and Graphviz run for every machine.
  const bare = mkdtempSync(join(tmpdir(), 'wirestate-bench-'));
  try {
    for (const part of ['spec', 'runtime-esp8266', 'generated']) cpSync(join(root, part), join(bare, part), { recursive: true });
    add('wirestate generate --check, no render cache, package', figure(median(['generate', '--check'], bare, dist)));
  } finally {
    rmSync(bare, { recursive: true, force: true });
  }
  add('wirestate --version, from source (tsx)', figure(median(['--version'], root, {})));
  add('wirestate generate --check, from source (tsx)', figure(median(['generate', '--check'], root, {})));
}
