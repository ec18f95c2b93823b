// RFC 6455 frames for tests: build what a server sends (including frames no conforming server
// would send) and parse what a client sends.
import { createHash } from 'node:crypto';

export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export type Bytes = Buffer | Uint8Array | string;

export const bytes = (b: Bytes): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b));

export interface FrameSpec {
  op: number;
  payload?: Bytes;
  /** Default true. */
  fin?: boolean;
  /** RSV1..RSV3 as a 3-bit number (4 = RSV1). */
  rsv?: number;
  /** Mask the frame (servers must not): true for a fixed key, or the 4-byte key. */
  mask?: boolean | Buffer;
  /** Announce this length instead of the payload's real length. */
  length?: number | bigint;
  /** Length encoding: 7-bit, 16-bit (126) or 64-bit (127); default the minimal one. */
  lengthForm?: 7 | 16 | 64;
}

/** One frame as bytes. */
export function frame(spec: FrameSpec): Buffer {
  const payload = bytes(spec.payload ?? Buffer.alloc(0));
  const len = BigInt(spec.length ?? payload.length);
  const form = spec.lengthForm ?? (len < 126n ? 7 : len < 65536n ? 16 : 64);
  const head: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) & 7) << 4 | (spec.op & 15)];
  const maskBit = spec.mask ? 0x80 : 0;
  if (form === 7) head.push(maskBit | Number(len & 127n));
  else if (form === 16) head.push(maskBit | 126, Number((len >> 8n) & 255n), Number(len & 255n));
  else {
    head.push(maskBit | 127);
    for (let i = 7; i >= 0; i--) head.push(Number((len >> BigInt(8 * i)) & 255n));
  }
  let body = payload;
  let key: Buffer = Buffer.alloc(0);
  if (spec.mask) {
    key = spec.mask === true ? Buffer.from([0x12, 0x34, 0x56, 0x78]) : spec.mask;
    body = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] as number)));
  }
  return Buffer.concat([Buffer.from(head), key, body]);
}

export const text = (s: Bytes, fin = true) => frame({ op: OP.TEXT, payload: s, fin });
export const binary = (b: Bytes, fin = true) => frame({ op: OP.BINARY, payload: b, fin });
export const cont = (b: Bytes, fin = true) => frame({ op: OP.CONT, payload: b, fin });
export const ping = (b: Bytes = '') => frame({ op: OP.PING, payload: b });
export const pong = (b: Bytes = '') => frame({ op: OP.PONG, payload: b });

/** A Close payload: status code and reason (no code: empty payload). */
export function closePayload(code?: number, reason: Bytes = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, bytes(reason)]);
}

export const close = (code?: number, reason: Bytes = '') => frame({ op: OP.CLOSE, payload: closePayload(code, reason) });

export interface ParsedFrame {
  fin: boolean;
  rsv: number;
  op: number;
  masked: boolean;
  /** The masking key, or null. */
  key: Buffer | null;
  /** The payload, unmasked. */
  payload: Buffer;
  /** How the length was encoded. */
  lengthForm: 7 | 16 | 64;
  /** Offset of the frame in the parsed stream, and its size on the wire. */
  offset: number;
  size: number;
}

/** Parses as many whole frames as `buf` holds; `rest` is an incomplete frame at the end. */
export function parseFrames(buf: Buffer, base = 0): { frames: ParsedFrame[]; rest: Buffer } {
  const frames: ParsedFrame[] = [];
  let o = 0;
  for (;;) {
    if (buf.length - o < 2) break;
    const b0 = buf[o] as number;
    const b1 = buf[o + 1] as number;
    let len = b1 & 127;
    let h = 2;
    let lengthForm: 7 | 16 | 64 = 7;
    if (len === 126) {
      if (buf.length - o < 4) break;
      len = buf.readUInt16BE(o + 2);
      h = 4;
      lengthForm = 16;
    } else if (len === 127) {
      if (buf.length - o < 10) break;
      len = Number(buf.readBigUInt64BE(o + 2));
      h = 10;
      lengthForm = 64;
    }
    const masked = (b1 & 0x80) !== 0;
    const size = h + (masked ? 4 : 0) + len;
    if (buf.length - o < size) break;
    const key = masked ? buf.subarray(o + h, o + h + 4) : null;
    const raw = buf.subarray(o + h + (masked ? 4 : 0), o + size);
    const payload = key ? Buffer.from(raw.map((b, i) => b ^ (key[i % 4] as number))) : Buffer.from(raw);
    frames.push({
      fin: (b0 & 0x80) !== 0,
      rsv: (b0 >> 4) & 7,
      op: b0 & 15,
      masked,
      key: key && Buffer.from(key),
      payload,
      lengthForm,
      offset: base + o,
      size,
    });
    o += size;
  }
  return { frames, rest: buf.subarray(o) };
}

/** Code and reason of a Close frame's payload (code undefined when empty). */
export function closeInfo(payload: Buffer): { code?: number; reason: string } {
  if (payload.length < 2) return { reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}
