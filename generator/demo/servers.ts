// Local servers for the demo and the benchmark: a WebSocket server that greets (as the original
// uwebsockets README's example server did) or echoes.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface LocalServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A ws:// server on 127.0.0.1 that answers every message with reply(message). */
export async function startWebSocketServer(reply: (message: string | Buffer, binary: boolean) => string | Buffer, port = 0): Promise<LocalServer> {
  const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  server.on('connection', (ws) => {
    ws.on('message', (data, binary) => ws.send(reply(binary ? (data as Buffer) : data.toString(), binary)));
  });
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))]);
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${actual}/`,
    port: actual,
    close: () => new Promise((resolve) => {
      for (const c of server.clients) c.terminate();
      server.close(() => resolve());
    }),
  };
}

/** The greeting server of the original README: "Hello <name>!". Port 5000 if free. */
export async function startGreeter(): Promise<LocalServer> {
  const greet = (m: string | Buffer) => `Hello ${m.toString()}!`;
  return startWebSocketServer(greet, 5000).catch(() => startWebSocketServer(greet));
}

/**
 * A Socket.IO server (socket.io 4, default options) for the original Socket.IO example: it
 * sends each client a 'message' and an 'alert', then disconnects it. Port 5000 if free.
 */
export async function startSocketIoAnnouncer(port = 5000): Promise<LocalServer> {
  const { createServer } = await import('node:http');
  const { Server } = await import('socket.io');
  const http = createServer();
  const io = new Server(http);
  io.on('connection', (socket) => {
    socket.emit('message', 'Hello from the Socket.IO server');
    socket.emit('alert', { status: 'green', text: 'all systems go' });
    setTimeout(() => socket.disconnect(true), 200);
  });
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      http.once('error', reject);
      http.listen(p, '127.0.0.1', () => resolve((http.address() as AddressInfo).port));
    });
  const actual = await listen(port).catch(() => listen(0));
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () => new Promise((resolve) => io.close(() => resolve())),
  };
}
