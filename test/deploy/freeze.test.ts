// `wirestate freeze`: a manifest.py that MicroPython's firmware build reads, from wherever it runs.
// manifest_eval.py reads it as the build does and lists what it freezes.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot } from '../generator/support.ts';
import { cli, repoRoot, runtimeFiles } from './support.ts';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** What the build freezes with `manifest`: firmware name -> content; and what it includes. */
function frozen(manifest: string): { files: Record<string, string>; includes: string[] } {
  // Run from / : the manifest's paths must not depend on where the build runs.
  const out = execFileSync(python, [join(repoRoot, 'test', 'deploy', 'manifest_eval.py'), manifest], { cwd: '/', encoding: 'utf8' });
  const r = JSON.parse(out) as { frozen: [string, string][]; includes: string[] };
  return { files: Object.fromEntries(r.frozen.map(([name, file]) => [name, readFileSync(file, 'utf8')])), includes: r.includes };
}

/** The runtime as deploy sends it, by name under /lib, for the packages given (all without). */
function expected(test?: RegExp): Record<string, string> {
  return Object.fromEntries(
    runtimeFiles()
      .filter((f) => !test || test.test(f.path))
      .map((f) => [f.path.slice('/lib/'.length), Buffer.from(f.data).toString('utf8')]),
  );
}

describe('freeze', () => {
  let root: string;

  beforeAll(() => {
    root = makeRoot('freeze');
    for (const dir of ['runtime-esp8266', 'generated']) cpSync(join(repoRoot, dir), join(root, dir), { recursive: true });
    mkdirSync(join(root, 'firmware'));
  });
  afterAll(() => removeRoot(root));

  it('freezes the whole runtime and the tables, after the port\'s own modules', async () => {
    const out = join(root, 'firmware', 'manifest.py');
    const r = await cli('freeze', '--root', root, '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${out}: ${runtimeFiles().length} runtime modules\nbuild: make -C ports/esp8266 BOARD=ESP8266_GENERIC FROZEN_MANIFEST=${out}\n`);
    const m = frozen(out);
    expect(m.includes).toEqual(['$(PORT_DIR)/boards/manifest.py']);
    expect(m.files).toEqual(expected());
    // Paths relative to the manifest: nothing of where this machine keeps the project.
    expect(readFileSync(out, 'utf8')).not.toContain(root);
  });

  it('--only: the package and what it imports; --base none includes nothing', async () => {
    const out = join(root, 'manifest.py');
    const r = await cli('freeze', '--root', root, '--out', out, '--only', 'uwebsockets', '--base', 'none');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^only uwebsockets, and what it imports: dial, fsm, websocket_fsm\n/);
    const m = frozen(out);
    expect(m.includes).toEqual([]);
    expect(m.files).toEqual(expected(/^\/lib\/(uwebsockets\/|dial\.py|fsm\.py|websocket_fsm\.py)/));
    expect(readFileSync(out, 'utf8')).toContain('# only uwebsockets, and what it imports: dial, fsm, websocket_fsm\n');
  });

  it("in a user's project: what --main and --app import, fsm.py from wirestate's runtime, the app frozen too", async () => {
    const project = makeRoot('freeze-project');
    try {
      const fixture = join(repoRoot, 'test', 'fixtures', 'golden', 'turnstile');
      cpSync(join(fixture, 'runtime-esp8266'), join(project, 'runtime-esp8266'), { recursive: true });
      cpSync(join(fixture, 'expected', 'micropython'), join(project, 'generated', 'micropython'), { recursive: true });
      const turnstile = readFileSync(join(project, 'runtime-esp8266', 'turnstile.py'), 'utf8') + '\n\ndef tables():\n    import turnstile_fsm\n    from fsm import start\n';
      writeFileSync(join(project, 'runtime-esp8266', 'turnstile.py'), turnstile);
      mkdirSync(join(project, 'src'));
      writeFileSync(join(project, 'src', 'main.py'), 'import app\napp.go()\n');
      writeFileSync(join(project, 'src', 'app.py'), 'import turnstile\n\n\ndef go():\n    turnstile.tables()\n');
      const out = join(project, 'manifest.py');
      const r = await cli('freeze', '--root', project, '--out', out, '--main', join(project, 'src', 'main.py'), '--app', join(project, 'src', 'app.py'));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('main.py, app.py import turnstile: freezing it and what it imports: fsm, turnstile_fsm (--only chooses)\n');
      expect(frozen(out).files).toEqual({
        'app.py': readFileSync(join(project, 'src', 'app.py'), 'utf8'),
        'fsm.py': readFileSync(join(repoRoot, 'runtime-esp8266', 'fsm.py'), 'utf8'),
        'turnstile.py': turnstile,
        'turnstile_fsm.py': readFileSync(join(fixture, 'expected', 'micropython', 'turnstile_fsm.py'), 'utf8'),
      });
    } finally {
      removeRoot(project);
    }
  });

  it('finds the runtime and the tables in the folders wirestate.config.json names', async () => {
    const project = makeRoot('freeze-layout');
    try {
      writeFileSync(join(project, 'wirestate.config.json'), JSON.stringify({ runtime: 'src/device', generated: 'out' }));
      cpSync(join(repoRoot, 'runtime-esp8266'), join(project, 'src', 'device'), { recursive: true });
      cpSync(join(repoRoot, 'generated', 'micropython'), join(project, 'out', 'micropython'), { recursive: true });
      const out = join(project, 'manifest.py');
      expect((await cli('freeze', '--root', project, '--out', out, '--only', 'usocketio')).code).toBe(0);
      expect(frozen(out).files).toEqual(expected(/^\/lib\/(?!fsmtrace)/));
      expect(readFileSync(out, 'utf8')).toContain('package("usocketio", base_path="src/device")\n');
      expect(readFileSync(out, 'utf8')).toContain('module("websocket_fsm.py", base_path="out/micropython")\n');
    } finally {
      removeRoot(project);
    }
  });

  it("a manifest of the user's is not overwritten without --force", async () => {
    const out = join(root, 'own.py');
    writeFileSync(out, 'include("$(PORT_DIR)/boards/manifest.py")\nmodule("mine.py")\n');
    const r = await cli('freeze', '--root', root, '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`wirestate freeze: ${out} exists and wirestate freeze did not write it: --force overwrites it; or write this one elsewhere (--out) and include() it from yours\n`);
    expect(readFileSync(out, 'utf8')).toContain('mine.py');
    // One it wrote is rewritten; --force overwrites the user's.
    expect((await cli('freeze', '--root', root, '--out', join(root, 'manifest.py'))).code).toBe(0);
    expect((await cli('freeze', '--root', root, '--out', out, '--force')).code).toBe(0);
    expect(frozen(out).files).toEqual(expected());
  });

  it('an unknown package: exit 1, nothing written', async () => {
    const out = join(root, 'none.py');
    const r = await cli('freeze', '--root', root, '--out', out, '--only', 'nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wirestate freeze: no package 'nope' in the runtime; there are: dial, /);
    expect(existsSync(out)).toBe(false);
  });
});
