// wirestate in a user's own project: a spec and a one-module runtime, no fsm.py of its own. The
// table interpreter and its tracer come from wirestate's runtime for `sim run` (with --trace
// too), `deploy` and so `run`.
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot } from '../generator/support.ts';
import { cli, repoRoot } from './support.ts';

const fixture = join(repoRoot, 'test', 'fixtures', 'golden', 'turnstile');

// The fixture's runtime stub, driven by fsm with the generated tables.
const runtime = `${readFileSync(join(fixture, 'runtime-esp8266', 'turnstile.py'), 'utf8')}
    delays = ()


def demo():
    from fsm import fire, start
    import turnstile_fsm as T

    t = Turnstile()
    start(T, t)
    for i in range(3):  # coins: the third finds the fare paid
        fire(T, t, 0)
    return t.state
`;

describe("a user's project: fsm.py and fsmtrace.py from wirestate's runtime", () => {
  let root: string;
  let flash: string;

  beforeAll(() => {
    root = makeRoot('project');
    flash = join(root, '.cache', 'sim-board');
    mkdirSync(join(root, 'runtime-esp8266'));
    cpSync(join(fixture, 'spec'), join(root, 'spec'), { recursive: true });
    // The tables `generate` writes for this spec (the golden test holds them to it).
    cpSync(join(fixture, 'expected', 'micropython'), join(root, 'generated', 'micropython'), { recursive: true });
    writeFileSync(join(root, 'runtime-esp8266', 'turnstile.py'), runtime);
    writeFileSync(join(root, 'main.py'), "import turnstile\nprint('state', turnstile.demo())\n");
  });
  afterAll(() => removeRoot(root));

  it('sim run: the script runs with the tables and fsm.py', async () => {
    const r = await cli('sim', 'run', join(root, 'main.py'), '--root', root);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('state 1\n');
    expect(r.code).toBe(0);
  });

  it('sim run --trace: fsmtrace records the transitions', async () => {
    const out = join(root, 'turnstile.wst');
    const r = await cli('sim', 'run', join(root, 'main.py'), '--root', root, '--trace', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const trace = readFileSync(out);
    expect(trace.subarray(0, 4).toString('latin1')).toBe('WST1');
    expect(trace.includes(Buffer.from('turnstile_fsm'))).toBe(true);
  });

  it('run before deploying: the ImportError, and how to put the module there', async () => {
    const r = await cli('run', join(root, 'main.py'), '--root', root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ImportError: no module named 'turnstile'\r\nwirestate run: the board has no turnstile, which this project deploys: `wirestate deploy --only turnstile` puts it there \(with what it imports\)\n$/);
  });

  it('deploy with --main: what main.py imports, fsm.py from the package; run then works', async () => {
    const r = await cli('deploy', '--root', root, '--main', join(root, 'main.py'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  main.py imports turnstile: deploying it and what it imports: fsm, turnstile_fsm (--only chooses)\n');
    for (const m of ['fsm', 'turnstile', 'turnstile_fsm']) expect(r.stdout).toContain(`  copied /lib/${m}.mpy (`);
    expect(existsSync(join(flash, 'lib', 'fsmtrace.mpy'))).toBe(false);

    writeFileSync(join(root, 'check.py'), "import turnstile, fsm\nprint(fsm.__file__, turnstile.demo())\n");
    const run = await cli('run', join(root, 'check.py'), '--root', root);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('/lib/fsm.mpy 1\r\n');
    expect(run.code).toBe(0);
  });

  it('deploy of everything as source: both modules, as the package has them', async () => {
    const r = await cli('deploy', '--root', root, '--py', '--prune');
    expect(r.code).toBe(0);
    for (const m of ['fsm.py', 'fsmtrace.py']) {
      expect(readFileSync(join(flash, 'lib', m), 'utf8')).toBe(readFileSync(join(repoRoot, 'runtime-esp8266', m), 'utf8'));
    }
  });

  it("the project's own fsm.py wins over the package's", async () => {
    const own = readFileSync(join(repoRoot, 'runtime-esp8266', 'fsm.py'), 'utf8') + '# the project\'s own\n';
    writeFileSync(join(root, 'runtime-esp8266', 'fsm.py'), own);
    const r = await cli('deploy', '--root', root, '--py');
    expect(r.code).toBe(0);
    expect(readFileSync(join(flash, 'lib', 'fsm.py'), 'utf8')).toBe(own);
  });
});
