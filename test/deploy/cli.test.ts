// `wirestate deploy`, `run` and `repl` on the simulated board, the default target, whose flash
// persists in <root>/.cache/sim-board between commands.
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminal } from '../../generator/cli/commands/repl.ts';
import { SerialLink } from '../../generator/deploy/serial.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { makeRoot, removeRoot } from '../generator/support.ts';
import { cli, repoRoot, runtimeFiles } from './support.ts';

const runtime = runtimeFiles();
// What app.py imports (uwebsockets) and what that imports in turn.
const websocket = runtime.filter((f) => /^\/lib\/(uwebsockets\/|dial\.py|fsm\.py|websocket_fsm\.py)/.test(f.path));

describe('deploy and run on the simulated board', () => {
  let root: string;
  let flash: string;

  beforeAll(() => {
    root = makeRoot('deploy');
    flash = join(root, '.cache', 'sim-board');
    for (const dir of ['runtime-esp8266', 'generated']) cpSync(join(repoRoot, dir), join(root, dir), { recursive: true });
    writeFileSync(join(root, 'main.py'), "import app\napp.main()\n");
    writeFileSync(join(root, 'app.py'), "import uwebsockets.protocol\n\n\ndef main():\n    print('app running')\n");
    writeFileSync(join(root, 'check.py'), "import uwebsockets.protocol, app\nprint('imported', uwebsockets.protocol.__file__)\napp.main()\n");
    writeFileSync(join(root, 'fails.py'), "print('before')\nraise ValueError('bad input')\n");
  });
  afterAll(() => removeRoot(root));

  it('deploys the user\'s files and the packages they import, a line per file and a summary', async () => {
    const r = await cli('deploy', '--root', root, '--py', '--main', join(root, 'main.py'), '--app', join(root, 'app.py'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`deploying to the simulated board (flash in ${flash})`);
    expect(lines[1]).toBe('  main.py, app.py import uwebsockets: deploying it and what it imports: dial, fsm, websocket_fsm (--only chooses)');
    const paths = [...websocket.map((f) => f.path), '/main.py', '/app.py'];
    expect(lines.slice(2, -1)).toEqual(paths.map((p) => expect.stringMatching(new RegExp(`^  copied ${p.replace(/\./g, '\\.')} \\(\\d+(\\.\\d)? K?B\\)$`))));
    expect(lines.at(-1)).toMatch(new RegExp(`^${paths.length} files: ${paths.length} copied, 0 unchanged; [\\d.]+ KB of files, [\\d.]+ KB sent \\(0\\.\\d\\d per byte of file\\); [\\d.]+ s$`));
    expect(readFileSync(join(flash, 'lib', 'uwebsockets', 'client.py'))).toEqual(readFileSync(join(root, 'runtime-esp8266', 'uwebsockets', 'client.py')));
    expect(readFileSync(join(flash, 'main.py'), 'utf8')).toBe("import app\napp.main()\n");
  });

  it('a second deploy finds everything up to date', async () => {
    const r = await cli('deploy', '--root', root, '--py', '--main', join(root, 'main.py'), '--app', join(root, 'app.py'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\n${websocket.length + 2} files: 0 copied, ${websocket.length + 2} unchanged; [\\d.]+ KB sent; [\\d.]+ s\\n$`));
  });

  it('--dry-run lists what would change and writes nothing; files no longer deployed are reported', async () => {
    const fsm = join(root, 'runtime-esp8266', 'fsm.py');
    writeFileSync(fsm, readFileSync(fsm, 'utf8') + '# edited\n');
    const r = await cli('deploy', '--root', root, '--py', '--only', 'uwebsockets', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\n  only uwebsockets, and what it imports: dial, fsm, websocket_fsm\n');
    expect(r.stdout).toContain(`  would copy /lib/fsm.py (changed, `);
    expect(r.stdout).toContain('  no longer deployed: /app.py (kept; --prune removes it)\n');
    expect(r.stdout).toContain('  no longer deployed: /main.py (kept; --prune removes it)\n');
    expect(r.stdout).toMatch(/1 would be copied, \d+ unchanged; .* \(dry run: nothing written\)\n$/);
    expect(readFileSync(join(flash, 'lib', 'fsm.py'), 'utf8')).not.toContain('# edited');
  });

  it('run: a script on the board, using what was deployed, its output as it comes', async () => {
    const r = await cli('run', join(root, 'check.py'), '--root', root);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('imported /lib/uwebsockets/protocol.py\r\napp running\r\n');
  });

  it('run: a script that raises prints its traceback, exit 1', async () => {
    const r = await cli('run', join(root, 'fails.py'), '--root', root);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('before\r\n');
    expect(r.stderr).toBe('Traceback (most recent call last):\r\n  File "<stdin>", line 2, in <module>\r\nValueError: bad input\r\n');
  });

  it('by default deploys .mpy files, the board loading them, and removes the .py files they replace', async () => {
    const r = await cli('deploy', '--root', root, '--only', 'uwebsockets', '--prune');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  copied /lib/uwebsockets/client.mpy (');
    expect(r.stdout).toContain('  removed /lib/uwebsockets/client.py (shadows .mpy)\n');
    expect(r.stdout).toContain('  removed /app.py (no longer deployed)\n');
    expect(existsSync(join(flash, 'lib', 'uwebsockets', 'client.py'))).toBe(false);
    expect(readFileSync(join(flash, 'lib', 'uwebsockets', 'client.mpy')).subarray(0, 2)).toEqual(Buffer.from([0x4d, 6]));
    // --mpy, the explicit form, deploys the same.
    const again = await cli('deploy', '--root', root, '--only', 'uwebsockets', '--mpy');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`\\n${websocket.length} files: 0 copied, ${websocket.length} unchanged;`));
  });

  it('--no-runtime: only your files (the runtime frozen into the firmware); --prune removes the deployed runtime', async () => {
    const r = await cli('deploy', '--root', root, '--no-runtime', '--main', join(root, 'main.py'), '--prune');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\n  only your files: the runtime is frozen into the firmware\n');
    expect(r.stdout).toContain('  removed /lib/uwebsockets/client.mpy (no longer deployed)\n');
    expect(r.stdout).toMatch(new RegExp(`\\n1 files: 1 copied, 0 unchanged, ${websocket.length} removed; `));
    expect(existsSync(join(flash, 'lib', 'fsm.mpy'))).toBe(false);
    expect(existsSync(join(flash, 'main.py'))).toBe(true);
  });

  it('a file of yours whose name has a control character: exit 1 before the board is touched', async () => {
    const odd = join(root, 'two\nlines.py');
    writeFileSync(odd, 'x = 1\n');
    const r = await cli('deploy', '--root', root, '--app', odd, '--port', '/dev/no-such-port');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('wirestate deploy: "/two\\nlines.py": a file name on the board may not hold control characters (newline, tab, ...); rename the file\n');
  });

  it('--only names a package there is: else exit 1, listing them', async () => {
    const r = await cli('deploy', '--root', root, '--only', 'uwebsocket');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("wirestate deploy: no package 'uwebsocket' in the runtime; there are: dial, engineio_fsm, engineio_heartbeat_fsm, fsm, fsmtrace, socketio_manager_fsm, socketio_namespace_fsm, usocketio, uwebsockets, websocket_fsm\n");
  });

  it('command lines that do not fit: exit 2', async () => {
    for (const [argv, message] of [
      [['deploy', '--port', '/dev/ttyUSB0', '--sim'], '--port and --sim do not go together: pick one board'],
      [['deploy', '--baud', '9600'], '--baud goes with --port'],
      [['deploy', '--port', '/dev/ttyUSB0', '--baud', 'fast'], '--baud: not a positive number: fast'],
      [['deploy', '--webrepl', '192.168.4.1'], '--webrepl: not a ws:// address: 192.168.4.1'],
      [['deploy', '--root', root, '--app', join(root, 'missing.py')], `--app: no such file: ${join(root, 'missing.py')}`],
      [['run'], 'missing FILE.py'],
      [['deploy', '--py', '--mpy'], '--py and --mpy do not go together'],
      [['deploy', '--no-runtime', '--only', 'fsm', '--main', join(root, 'main.py')], '--no-runtime and --only do not go together'],
      [['deploy', '--no-runtime'], '--no-runtime: nothing to deploy without --main or --app'],
    ] as const) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain(`: ${message}\n`);
    }
  });
});

it('repl: keys to the board, its output back, Ctrl-] leaves', async () => {
  const board = await SimBoard.start();
  const link = await SerialLink.open(board.portPath, { binding: board.binding });
  const input = new PassThrough();
  const output = new PassThrough();
  let seen = '';
  output.on('data', (d: Buffer) => (seen += d.toString('latin1')));
  const until = async (text: string) => {
    for (let i = 0; i < 100 && !seen.includes(text); i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toContain(text);
  };
  try {
    const session = terminal(link, input, output);
    await until('>>> ');
    input.write('print(6 * 7)\r');
    await until('42\r\n>>> ');
    input.write('\x1d');
    await session;
    // Ctrl-B first: the banner and a prompt, then the echo and the answer.
    expect(seen).toMatch(/^\r\nMicroPython v[\s\S]*\r\n>>> print\(6 \* 7\)\r\n42\r\n>>> $/);
  } finally {
    await link.close();
    await board.close();
  }
});
