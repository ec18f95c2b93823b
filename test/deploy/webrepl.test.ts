// Deploying over WebREPL to the simulated board's loopback WebREPL server (password prompt, REPL
// in text frames into a 256-byte input buffer, the file protocol's PUT): the whole runtime, then
// running it; a wrong password, a second client, nobody listening.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebSocketServer, type LocalServer } from '../../generator/demo/servers.ts';
import { SimBoard } from '../../generator/deploy/sim.ts';
import { freePort } from '../support/net.ts';
import type { WebReplLink } from '../../generator/deploy/webrepl.ts';
import { bytesOf, cli, flashText, runtimeFiles, webReplSession, type Session } from './support.ts';

const PASSWORD = 'tiny8266';
const runtime = runtimeFiles();
const text = Object.fromEntries(runtime.map((f) => [f.path, Buffer.from(f.data).toString('utf8')]));

describe('the runtime over WebREPL', () => {
  let board: SimBoard;
  let url: string;
  let s: Session;
  let echo: LocalServer;

  beforeAll(async () => {
    board = await SimBoard.start();
    url = await board.startWebRepl(PASSWORD);
    s = await webReplSession(url, PASSWORD);
    echo = await startWebSocketServer((m) => m);
  });
  afterAll(async () => {
    await s?.close();
    await board?.close();
    await echo?.close();
  });

  it('copies every file with the file protocol, deflated: about half a byte on the wire per byte of file', async () => {
    const sent = s.link.stats.sent;
    const r = await s.sync(runtime);
    expect(r.copied).toHaveLength(runtime.length);
    expect(await flashText(board)).toEqual(text);
    expect((s.link.stats.sent - sent) / bytesOf(runtime)).toBeLessThan(0.65);
  });

  it('the board then runs the runtime from /lib', async () => {
    const out = await s.repl.exec(
      `import uwebsockets.client\nws = uwebsockets.client.connect(${JSON.stringify(echo.url)})\nws.send('over WebREPL')\nprint(ws.recv())\nws.close()`,
      { doing: 'running the client' },
    );
    expect(out).toBe('over WebREPL\r\n');
  });

  it('skips what is unchanged', async () => {
    const r = await s.sync(runtime);
    expect(r.copied).toEqual([]);
    expect(r.unchanged).toHaveLength(runtime.length);
  });

  it('takes one client at a time: a second one is told so, exit 1', async () => {
    const r = await cli('deploy', '--webrepl', url, '--password', PASSWORD, '--timeout', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`wirestate deploy: the board at ${url} closed the connection at once: WebREPL takes one client at a time, so another one is probably connected (a browser tab?)\n`);
  });
});

describe('logging in', () => {
  let board: SimBoard;
  let url: string;

  beforeAll(async () => {
    board = await SimBoard.start();
    url = await board.startWebRepl(PASSWORD);
  });
  afterAll(async () => {
    await board?.close();
  });

  it('a wrong password is a clear error, exit 1, and is printed nowhere', async () => {
    const r = await cli('deploy', '--webrepl', url, '--password', 'guess1234', '--timeout', '2');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('wirestate deploy: the board refused the WebREPL password (access denied)\n');
    expect(r.stdout + r.stderr).not.toContain('guess1234');
  });

  it('deploys with the CLI; the REPL part is paced for firmware without raw-paste mode', async () => {
    const old = await SimBoard.start({ rawPaste: false });
    const oldUrl = await old.startWebRepl(PASSWORD);
    try {
      const r = await cli('deploy', '--py', '--webrepl', oldUrl, '--password', PASSWORD);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`${runtime.length} files: ${runtime.length} copied, 0 unchanged`);
      expect(await flashText(old)).toEqual(text);
    } finally {
      await old.close();
    }
  });

  it('nothing listening is a clear error', async () => {
    const port = await freePort();
    const r = await cli('deploy', '--webrepl', `ws://127.0.0.1:${port}`, '--password', PASSWORD);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`nothing answers at ws://127.0.0.1:${port}: is WebREPL started on the board`);
  });
});

it('the file protocol into a folder that does not exist ends the session, as on the board', async () => {
  const board = await SimBoard.start();
  const url = await board.startWebRepl(PASSWORD);
  const s = await webReplSession(url, PASSWORD);
  try {
    const link = s.link as WebReplLink;
    const e = await link.putFile('/nowhere/x.py', Buffer.from('x = 1\n'), 2000).catch((x: Error) => x);
    expect((e as Error).message).toBe(`the board closed WebREPL ${url}`);
  } finally {
    await s.close();
    await board.close();
  }
});
