// Which packages a deploy (or a frozen firmware) needs: read from the modules' imports.
import { describe, expect, it } from 'vitest';
import { DeployError } from '../../generator/deploy/link.ts';
import { applicationImports, choosePackages, importedNames, packageOf, selectPackages } from '../../generator/deploy/packages.ts';
import type { BoardFile } from '../../generator/deploy/sync.ts';
import { runtimeFiles } from './support.ts';

const file = (path: string, source: string): BoardFile => ({ path, data: Buffer.from(source) });

describe('imports read from source', () => {
  it('every form of import, those inside functions and after ; or : included; comments are not code', () => {
    const src = [
      'import a',
      'import b.c as d, e',
      'from f.g import h',
      'from i import (j,',
      '    k)',
      'def x():',
      '    import l',
      '    if 1: import m',
      'n = 1; import o',
      "p = __import__('q')",
      '# import commented',
      'x = 2  # from not_this import y',
      "s = '#'; import r",
      'import s, \\',
      '    t',
    ].join('\n');
    expect(importedNames(src).sort()).toEqual(['a', 'b', 'e', 'f', 'i', 'l', 'm', 'o', 'q', 'r', 's', 't']);
  });

  it('a relative import names the package the module is in', () => {
    expect(importedNames('from . import client\nfrom .protocol import x\n', 'uwebsockets')).toEqual(['uwebsockets']);
    expect(importedNames('from . import client\n')).toEqual([]);
  });

  it('board paths to packages', () => {
    expect(packageOf('/lib/uwebsockets/client.py')).toBe('uwebsockets');
    expect(packageOf('/lib/fsm.mpy')).toBe('fsm');
    expect(packageOf('/lib/fsm.py')).toBe('fsm');
    expect(packageOf('/main.py')).toBeUndefined();
  });
});

describe("the runtime's packages", () => {
  const runtime = runtimeFiles();

  it('uwebsockets needs fsm, dial and its tables; usocketio needs uwebsockets too', () => {
    const ws = selectPackages(runtime, ['uwebsockets']);
    expect(ws.needed).toEqual(['dial', 'fsm', 'websocket_fsm']);
    expect(ws.files.map((f) => f.path)).toEqual(runtime.map((f) => f.path).filter((p) => /^\/lib\/(uwebsockets\/|dial\.py|fsm\.py|websocket_fsm\.py)/.test(p)));
    const sio = selectPackages(runtime, ['usocketio']);
    expect(sio.needed).toEqual(['dial', 'engineio_fsm', 'engineio_heartbeat_fsm', 'fsm', 'socketio_manager_fsm', 'socketio_namespace_fsm', 'uwebsockets', 'websocket_fsm']);
    expect(selectPackages(runtime, ['fsmtrace']).needed).toEqual(['fsm']);
  });

  it('several packages: what each imports, once', () => {
    const s = selectPackages(runtime, ['fsmtrace', 'uwebsockets', 'fsmtrace']);
    expect(s.roots).toEqual(['fsmtrace', 'uwebsockets']);
    expect(s.needed).toEqual(['dial', 'fsm', 'websocket_fsm']);
    expect(new Set(s.files.map((f) => f.path)).size).toBe(s.files.length);
  });

  it('follows what a package imports, not what its name suggests: a module added to the runtime is picked up', () => {
    const extra = [...runtime, file('/lib/extra.py', 'x = 1\n')];
    const patched = extra.map((f) => (f.path === '/lib/dial.py' ? file(f.path, Buffer.from(f.data).toString('utf8') + '\ndef f():\n    import extra\n') : f));
    expect(selectPackages(patched, ['uwebsockets']).needed).toEqual(['dial', 'extra', 'fsm', 'websocket_fsm']);
    expect(selectPackages(extra, ['uwebsockets']).needed).toEqual(['dial', 'fsm', 'websocket_fsm']);
  });

  it('import cycles end', () => {
    const files = [file('/lib/a.py', 'import b\n'), file('/lib/b.py', 'import a\nimport c\n'), file('/lib/c.py', ''), file('/lib/d.py', '')];
    expect(selectPackages(files, ['a']).needed).toEqual(['b', 'c']);
  });

  it("the application's imports: only runtime packages count", () => {
    const app = [file('/main.py', 'import app\nimport machine\n'), file('/app.py', 'import usocketio.client\nfrom fsm import const\n')];
    expect(applicationImports(runtime, app)).toEqual(['fsm', 'usocketio']);
  });

  it('what deploy and freeze say about the choice', () => {
    const app = [file('/main.py', 'import app\n'), file('/app.py', 'import usocketio.client\n')];
    expect(choosePackages(runtime, [], undefined)).toEqual({ files: runtime, said: [] });
    expect(choosePackages(runtime, app, ['uwebsockets']).said).toEqual([
      'only uwebsockets, and what it imports: dial, fsm, websocket_fsm',
      'note: main.py, app.py import usocketio, which --only leaves out',
    ]);
    expect(choosePackages(runtime, app.slice(1), undefined, 'freezing').said).toEqual([
      'app.py imports usocketio: freezing it and what it imports: dial, engineio_fsm, engineio_heartbeat_fsm, fsm, socketio_manager_fsm, socketio_namespace_fsm, uwebsockets, websocket_fsm (--only chooses)',
    ]);
    const none = choosePackages(runtime, [file('/main.py', 'print(1)\n')], undefined);
    expect(none).toEqual({ files: [], said: ["main.py imports none of the runtime's packages (--only chooses)"] });
  });

  it('an unknown package is a DeployError naming those there are', () => {
    expect(() => selectPackages(runtime, ['uwebsocket', 'nope'])).toThrow(DeployError);
    expect(() => selectPackages(runtime, ['nope'])).toThrow(/^no package 'nope' in the runtime; there are: dial, engineio_fsm, /);
  });
});
