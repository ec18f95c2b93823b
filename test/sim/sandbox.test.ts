// A script run on the simulated board (`sim run`, `run --sim`) cannot reach the host: the VM's
// bridges to JavaScript (`js`, `jsffi`, the board's `_simhost`) are not importable, and what
// JavaScript the board modules hold cannot compile code.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScript } from '../../generator/sim/device.ts';

describe('the simulated board is no bridge to the host', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wirestate-sandbox-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a script cannot write a host file through js, jsffi or the board modules', async () => {
    const target = path.join(dir, 'written-by-the-board');
    const script = path.join(dir, 'escape.py');
    // Each attempt reports how it failed; none may succeed.
    fs.writeFileSync(
      script,
      `T = ${JSON.stringify(target)}
def attempt(label, f):
    try:
        f()
        print(label, 'WROTE')
    except Exception as e:
        print(label, 'failed:', type(e).__name__)
def via_js():
    import js
    js.process.getBuiltinModule('fs').writeFileSync(T, 'x')
def via_function_constructor():
    import js
    js.Function('f', "process.getBuiltinModule('fs').writeFileSync(f, 'x')")(T)
def via_jsffi():
    import jsffi
    o = jsffi.to_js({})
    o.constructor.constructor("process.getBuiltinModule('fs').writeFileSync('" + T + "', 'x')")()
def via_board_module():
    import socket
    socket._h.stash.constructor("process.getBuiltinModule('fs').writeFileSync('" + T + "', 'x')")()
def via_host_module():
    import _simhost
    _simhost.stash.constructor("process.getBuiltinModule('fs').writeFileSync('" + T + "', 'x')")()
def without_the_import_hook():
    import builtins
    del builtins.__import__
    via_js()
for f in (via_js, via_function_constructor, via_jsffi, via_board_module, via_host_module, without_the_import_hook):
    attempt(f.__name__, f)
`,
    );
    let out = '';
    const code = await runScript(script, { stdout: (s) => (out += s), stderr: (s) => (out += s) });
    expect(code, out).toBe(0);
    expect(out).not.toContain('WROTE');
    expect(out.trim().split('\n')).toHaveLength(6);
    expect(fs.existsSync(target)).toBe(false);
  });
});
