// Deploying over a serial port to the simulated board (its console behind a serialport binding,
// through the same serial transport as a real port): the whole runtime, then running it from the
// board's /lib; unchanged files skipped, --force, --dry-run, --prune, --mpy, user files, plain raw
// mode for old firmware, and noise before the banner.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot } from '../generator/support.ts';
import { startWebSocketServer, type LocalServer } from '../../generator/demo/servers.ts';
import { DeployError } from '../../generator/deploy/link.ts';
import { checkMpyVersion, compileMpy, deployFormat, loadsMpy, precompile } from '../../generator/deploy/mpy.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { MANIFEST, checkBoardPath, manifestText, parseManifest, type BoardFile } from '../../generator/deploy/sync.ts';
import { bytesOf, flashText, runtimeFiles, serialSession, type Session } from './support.ts';

const runtime = runtimeFiles();
const text = (files: BoardFile[]) => Object.fromEntries(files.map((f) => [f.path, Buffer.from(f.data).toString('utf8')]));

describe('the runtime over serial, raw-paste mode', () => {
  let board: SimBoard;
  let s: Session;
  let echo: LocalServer;

  beforeAll(async () => {
    board = await SimBoard.start();
    s = await serialSession(board);
    echo = await startWebSocketServer((m) => m);
  });
  afterAll(async () => {
    await s?.close();
    await board?.close();
    await echo?.close();
  });

  it('copies every file to /lib, byte for byte, deflated on the way', async () => {
    expect(s.info.deflate).toBe(true);
    const sent = s.link.stats.sent;
    const r = await s.sync(runtime);
    expect(r.copied.map((c) => [c.path, c.why])).toEqual(runtime.map((f) => [f.path, 'new']));
    expect(await flashText(board)).toEqual(text(runtime));
    expect(s.repl.rawPaste).toBe(true);
    // Deflated base64 and the code around it: well under a byte per byte.
    expect((s.link.stats.sent - sent) / bytesOf(runtime)).toBeLessThan(0.8);
  });

  it('the board then imports the runtime from /lib and talks to a WebSocket server', async () => {
    const out = await s.repl.exec(
      `import uwebsockets.client\nws = uwebsockets.client.connect(${JSON.stringify(echo.url)})\nws.send('over serial')\nprint(ws.recv(), uwebsockets.client.__file__)\nws.close()`,
      { doing: 'running the client' },
    );
    expect(out).toBe('over serial /lib/uwebsockets/client.py\r\n');
  });

  it('skips what is unchanged: a second deploy sends a few hundred bytes', async () => {
    const sent = s.link.stats.sent;
    const r = await s.sync(runtime);
    expect(r.copied).toEqual([]);
    expect(r.unchanged).toEqual(runtime.map((f) => f.path));
    expect(s.link.stats.sent - sent).toBeLessThan(2000);
  });

  it('copies only what changed; --force copies everything; --dry-run writes nothing', async () => {
    const edited = runtime.map((f) => (f.path === '/lib/fsm.py' ? { ...f, data: Buffer.concat([f.data, Buffer.from('# edited\n')]) } : f));
    const dry = await s.sync(edited, { dryRun: true });
    expect(dry.copied.map((c) => [c.path, c.why])).toEqual([['/lib/fsm.py', 'changed']]);
    expect((await flashText(board))['/lib/fsm.py']).toBe(text(runtime)['/lib/fsm.py']);

    const r = await s.sync(edited);
    expect(r.copied.map((c) => c.path)).toEqual(['/lib/fsm.py']);
    expect((await flashText(board))['/lib/fsm.py']).toMatch(/# edited\n$/);

    const forced = await s.sync(runtime, { force: true });
    expect(forced.copied.map((c) => c.why)).toEqual(runtime.map((f) => (f.path === '/lib/fsm.py' ? 'changed' : 'forced')));
    expect(await flashText(board)).toEqual(text(runtime));
  });

  it('reports files no longer deployed and removes them, and folders left empty, with prune', async () => {
    const extra = [...runtime, { path: '/lib/oldpkg/gone.py', data: Buffer.from('x = 1\n') }, { path: '/lib/mine.py', data: Buffer.from('y = 2\n') }];
    await s.sync(extra);
    await board.device.writeFile('/lib/users_own.py', 'z = 3\n');

    const kept = await s.sync(runtime);
    expect(kept.orphans).toEqual(['/lib/mine.py', '/lib/oldpkg/gone.py']);
    expect(kept.removed).toEqual([]);
    expect(Object.keys(await flashText(board))).toContain('/lib/oldpkg/gone.py');

    const dry = await s.sync(runtime, { prune: true, dryRun: true });
    expect(dry.removed.map((r) => r.path)).toEqual(['/lib/mine.py', '/lib/oldpkg/gone.py']);
    const pruned = await s.sync(runtime, { prune: true });
    expect(pruned.removed).toEqual(dry.removed);
    const after = await flashText(board);
    expect(Object.keys(after)).not.toContain('/lib/mine.py');
    // Files wirestate did not put there stay.
    expect(after['/lib/users_own.py']).toBe('z = 3\n');
    expect(await board.device.eval("'oldpkg' in __import__('os').listdir('/lib')")).toBe(false);
    expect((await s.sync(runtime, { prune: true })).removed).toEqual([]);
  });

  it('precompiled .mpy: replaces the .py that would shadow it, imports from the .mpy, and is skipped when unchanged', async () => {
    expect(() => checkMpyVersion(s.info.mpy)).not.toThrow();
    const mpy = await precompile(runtime);
    const r = await s.sync(mpy);
    expect(r.removed).toEqual(runtime.map((f) => ({ path: f.path, why: 'shadows .mpy' })));
    // Soft reset: the modules imported earlier are forgotten.
    await s.repl.enter(true);
    const out = await s.repl.exec(
      `import uwebsockets.client\nws = uwebsockets.client.connect(${JSON.stringify(echo.url)})\nws.send('from .mpy')\nprint(ws.recv(), uwebsockets.client.__file__)\nws.close()`,
      { doing: 'running the client' },
    );
    expect(out).toBe('from .mpy /lib/uwebsockets/client.mpy\r\n');
    // Helpers are gone with the soft reset; a new session defines them again.
    await s.close();
    s = await serialSession(board);
    const again = await s.sync(mpy);
    expect(again.copied).toEqual([]);
    // Back to source: the .mpy files are no longer deployed (.py wins on import anyway).
    const back = await s.sync(runtime, { prune: true });
    expect(back.removed.map((x) => x.path)).toEqual(mpy.map((f) => f.path).sort());
    expect(await flashText(board)).toEqual({ ...text(runtime), '/lib/users_own.py': 'z = 3\n' });
  });
});

describe('the manifest of deployed files, and board paths', () => {
  let board: SimBoard;
  let s: Session;
  const mine = { path: '/lib/users_own.py', data: Buffer.from('z = 3\n') };

  beforeAll(async () => {
    board = await SimBoard.start();
    s = await serialSession(board);
    await board.device.writeFile(mine.path, 'z = 3\n');
  });
  afterAll(async () => {
    await s?.close();
    await board?.close();
  });

  it('refuses a board path with a control character before writing anything: a newline once made prune delete a user\'s file', async () => {
    const evil = { path: '/lib/a\n/lib/users_own.py', data: Buffer.from('x = 1\n') };
    const e = await s.sync([{ path: '/lib/ok.py', data: Buffer.from('y = 1\n') }, evil]).catch((x: Error) => x);
    expect(e).toBeInstanceOf(DeployError);
    expect((e as Error).message).toBe('"/lib/a\\n/lib/users_own.py": a file name on the board may not hold control characters (newline, tab, ...); rename the file');
    expect(Object.keys(await flashText(board))).toEqual([mine.path]);
    // Whatever is deployed and pruned next, the user's file stays.
    await s.sync([{ path: '/lib/ok.py', data: Buffer.from('y = 1\n') }]);
    expect((await s.sync([], { prune: true })).removed).toEqual([{ path: '/lib/ok.py', why: 'no longer deployed' }]);
    expect(await flashText(board)).toEqual({ [mine.path]: 'z = 3\n' });
    for (const bad of ['/lib/a\tb.py', '/lib/a\rb.py', '/lib/\x7f.py', '/lib/\x85.py', 'lib/a.py', '/lib//a.py', '/lib/../boot.py', '/lib/./a.py']) {
      expect(() => checkBoardPath(bad), JSON.stringify(bad)).toThrow(DeployError);
    }
  });

  it('is JSON on one line of ASCII, so any name reads back as it was written', async () => {
    const odd = ['/lib/it\'s "quoted".py', '/lib/caf\u00e9 \u{1f600}.py', '/lib/back\\slash.py'];
    const text = manifestText(odd);
    expect(text).toMatch(/^[\x20-\x7e]*\n$/);
    expect(parseManifest(text)).toEqual(odd);

    await s.sync(odd.map((path) => ({ path, data: Buffer.from('w = 4\n') })));
    const onBoard = Buffer.from((await board.files()).get(MANIFEST) as Uint8Array).toString('utf8');
    expect(JSON.parse(onBoard)).toEqual({ wirestate: 1, files: [...odd].sort() });
    const r = await s.sync([], { prune: true });
    expect(r.removed.map((x) => x.path)).toEqual([...odd].sort());
    expect(await flashText(board)).toEqual({ [mine.path]: 'z = 3\n' });
  });

  it('reads the manifest of earlier versions (one path a line) and rewrites it as JSON', async () => {
    await board.device.writeFile('/lib/old.py', 'v = 5\n');
    await board.device.writeFile(MANIFEST, '/lib/old.py\n/lib/fsm.py\n');
    const r = await s.sync([{ path: '/lib/fsm.py', data: Buffer.from('f = 6\n') }]);
    expect(r.orphans).toEqual(['/lib/old.py']);
    const onBoard = Buffer.from((await board.files()).get(MANIFEST) as Uint8Array).toString('utf8');
    expect(JSON.parse(onBoard)).toEqual({ wirestate: 1, files: ['/lib/fsm.py', '/lib/old.py'] });
    expect(parseManifest('not a manifest of ours\n')).toEqual([]);
    expect(parseManifest('{"files": 3}')).toEqual([]);
  });
});

describe('checks and compiling for --mpy', () => {
  it('deploys .mpy by default only to a board that loads version 6', () => {
    expect(loadsMpy(6 | (3 << 8))).toBe(true);
    expect(loadsMpy(6)).toBe(true);
    expect(loadsMpy(5)).toBe(false);
    expect(loadsMpy(0)).toBe(false);
  });

  it('precompiles by default when the board can load the files, else sends source and says why; --py never, --mpy or fail', () => {
    const v63 = 6 | (3 << 8);
    expect(deployFormat({}, v63)).toEqual({ mpy: true });
    expect(deployFormat({}, 5)).toEqual({ mpy: false, note: 'as source: the board does not load .mpy version 6 (it loads version 5)' });
    expect(deployFormat({}, 0)).toEqual({ mpy: false, note: 'as source: the board does not load .mpy version 6 (it has no sys.implementation._mpy: MicroPython before 1.19)' });
    expect(deployFormat({ py: true }, v63)).toEqual({ mpy: false });
    expect(deployFormat({ mpy: true }, v63)).toEqual({ mpy: true });
    expect(() => deployFormat({ mpy: true }, 5)).toThrow(DeployError);
    expect(() => deployFormat({ mpy: true }, 0)).toThrow(/--mpy: .* predates MicroPython 1\.19; deploy with --py/);
  });

  it('refuses a board whose .mpy version is not 6, or that reports none', () => {
    expect(() => checkMpyVersion(0)).toThrow(/predates MicroPython 1\.19/);
    expect(() => checkMpyVersion(5)).toThrow('the board loads .mpy version 5, wirestate\'s mpy-cross writes version 6');
    expect(() => checkMpyVersion(6 | (3 << 8))).not.toThrow();
  });

  it('compiled modules are cached by name and source: unchanged ones are not compiled again', async () => {
    const dir = makeRoot('mpy-cache');
    try {
      const one = [{ path: '/lib/a.py', data: Buffer.from('x = 1\n') }];
      const first = await precompile(one, dir);
      expect(first[0]?.path).toBe('/lib/a.mpy');
      const cached = readdirSync(dir);
      expect(cached).toHaveLength(1);
      // What is in the cache is what a deploy sends.
      writeFileSync(join(dir, cached[0] as string), 'cached');
      expect(Buffer.from((await precompile(one, dir))[0]?.data as Uint8Array).toString()).toBe('cached');
      // Another source, or the same source under another name, is compiled.
      expect((await precompile([{ path: '/lib/a.py', data: Buffer.from('x = 2\n') }], dir))[0]?.data.subarray(0, 2)).toEqual(new Uint8Array([0x4d, 6]));
      expect((await precompile([{ path: '/lib/b.py', data: Buffer.from('x = 1\n') }], dir))[0]?.data.subarray(0, 2)).toEqual(new Uint8Array([0x4d, 6]));
      expect(readdirSync(dir)).toHaveLength(3);
    } finally {
      removeRoot(dir);
    }
  });

  it('a module that does not compile is a clear error with mpy-cross\'s message', async () => {
    const e = await compileMpy('app.py', 'def broken(:\n').catch((x: Error) => x);
    expect(e).toBeInstanceOf(DeployError);
    expect((e as Error).message).toMatch(/mpy-cross could not compile app\.py:[\s\S]*File "app\.py", line 1[\s\S]*SyntaxError/);
  });
});

it('firmware before 1.14: plain raw mode, paced, with the same result', async () => {
  const board = await SimBoard.start({ rawPaste: false });
  const s = await serialSession(board);
  try {
    const files = runtime.filter((f) => /^\/lib\/(uwebsockets\/|fsm\.py|websocket_fsm\.py)/.test(f.path));
    const r = await s.sync(files);
    expect(s.repl.rawPaste).toBe(false);
    expect(r.copied).toHaveLength(files.length);
    expect(await flashText(board)).toEqual(text(files));
    expect(await s.repl.exec('import uwebsockets.protocol\nprint(uwebsockets.protocol.__name__)', { doing: 'importing' })).toBe('uwebsockets.protocol\r\n');
  } finally {
    await s.close();
    await board.close();
  }
});

it('noise before the banner (a board that resets when the port opens) is skipped', async () => {
  // Boot ROM output at 74880 baud, read at 115200: bytes that are no text, and a stray prompt.
  const noise = Buffer.from([0xf0, 0x1e, 0x83, 0x3e, 0x0a, 0x00, 0xe2, 0x3e, 0x3e, 0x3e, 0x20, 0xff, 0x72, 0x61, 0x77]);
  const board = await SimBoard.start({ noiseOnOpen: noise });
  const s = await serialSession(board);
  try {
    const r = await s.sync([{ path: '/main.py', data: Buffer.from("print('hi')\n") }]);
    expect(r.copied.map((c) => c.path)).toEqual(['/main.py']);
    expect((await flashText(board))['/main.py']).toBe("print('hi')\n");
  } finally {
    await s.close();
    await board.close();
  }
});
