// Shared by the visualisation suites: a trace captured from a real simulated run of the
// WebSocket client, and small readers of SVG, PNG and trace bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWebSocketServer } from '../../generator/demo/servers.ts';
import { runCli, type CliResult } from '../generator/support.ts';

/** What the client does in the captured run; the decoded trace must show exactly these steps. */
const echoScript = `import uwebsockets.client

ws = uwebsockets.client.connect(URL)
ws.send('hello')
print(ws.recv())
ws.send(b'\\x01\\x02')
print(ws.recv())
ws.ping(b'hi')
ws.send('again')
print(ws.recv())
ws.close()
print(ws.close_code)
`;

/**
 * The websocket machine's steps in the trace of echoScript. Where its Pong lands is a race:
 * ping() writes the Ping and then reads what has come, so the Pong may be taken in that call
 * (before the next send) or with the next recv(); the trace has one of the two orders
 * (echoStepsWith).
 */
export const echoSteps = [
  'start -> connecting',
  'connecting --handshake_response--> idle',
  'idle --send_message--> idle',
  'idle --text--> idle',
  'idle --send_message--> idle',
  'idle --binary--> idle',
  'idle --send_ping--> idle',
  'idle --send_message--> idle',
  'idle --pong--> idle',
  'idle --text--> idle',
  'idle --close_request--> sent',
  'sent --close--> received',
  'received --tcp_closed--> closed',
];

/** echoSteps, or with the Pong taken before the next send (see echoSteps), as `listed` has it. */
export function echoStepsWith(listed: string[]): string[] {
  const i = echoSteps.indexOf('idle --pong--> idle');
  const early = [...echoSteps.slice(0, i - 1), echoSteps[i]!, echoSteps[i - 1]!, ...echoSteps.slice(i + 1)];
  return listed[i - 1]?.includes('pong') ? early : echoSteps;
}

/**
 * Runs echoScript on the simulated ESP8266 through `wirestate sim run --trace` against a local
 * ws echo server; the trace is saved to `<dir>/echo.wst`.
 */
export async function captureEchoTrace(dir: string): Promise<{ trace: string; run: CliResult }> {
  const server = await startWebSocketServer((m) => m);
  try {
    const script = join(dir, 'echo.py');
    writeFileSync(script, `URL = '${server.url}'\n${echoScript}`);
    const trace = join(dir, 'echo.wst');
    const run = await runCli(['sim', 'run', '--trace', trace, script]);
    return { trace, run };
  } finally {
    await server.close();
  }
}

/** A copy of a trace file's bytes with `edit` applied. */
export function editedTrace(path: string, out: string, edit: (b: Uint8Array, firstRecord: number) => Uint8Array): string {
  const bytes = new Uint8Array(readFileSync(path));
  writeFileSync(out, edit(bytes, firstRecordOffset(bytes)));
  return out;
}

/** Byte offset of record 0 (see generator/trace/format.mjs). */
export function firstRecordOffset(b: Uint8Array): number {
  let at = 5;
  for (let k = 0; k < b[4]!; k++) at += 5 + b[at + 4]!;
  return at + 8;
}

export interface SvgPart {
  /** id, class and title of the top-level group (a node, an edge or a cluster) the part is in. */
  groupId: string;
  groupClass: string;
  /** A node's name, `tail->head` for an edge. */
  groupTitle: string;
  /** The texts of the part, joined by newlines. */
  text: string;
}

/**
 * The groups with an id in a Graphviz SVG, each with its top-level group (a node, an edge or a
 * cluster) and its text, entities decoded.
 */
export function svgParts(svg: string): Map<string, SvgPart> {
  const parts = new Map<string, SvgPart>();
  const open: { id: string; cls: string; title?: string; texts: string[] }[] = [];
  for (const m of svg.matchAll(/<g\b([^>]*)>|<\/g>|<text\b[^>]*>([^<]*)<\/text>|<title>([^<]*)<\/title>/g)) {
    if (m[0].startsWith('<text')) {
      for (const g of open) g.texts.push(decode(m[2]!));
    } else if (m[0].startsWith('<title')) {
      open[open.length - 1]!.title ??= decode(m[3]!);
    } else if (m[0] === '</g>') {
      const g = open.pop()!;
      const top = open[1] ?? g; // open[0] is the whole graph
      if (g.id) parts.set(g.id, { groupId: top.id, groupClass: top.cls, groupTitle: top.title ?? '', text: g.texts.join('\n') });
    } else {
      open.push({ id: decode(/\bid="([^"]*)"/.exec(m[1]!)?.[1] ?? ''), cls: /\bclass="([^"]*)"/.exec(m[1]!)?.[1] ?? '', texts: [] });
    }
  }
  return parts;
}

function decode(s: string): string {
  return s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

/** Width and height of a PNG, from its IHDR chunk; throws if it is not a PNG. */
export function pngSize(b: Buffer): { width: number; height: number } {
  if (!b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) || b.toString('latin1', 12, 16) !== 'IHDR') {
    throw new Error('not a PNG');
  }
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
