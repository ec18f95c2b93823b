// Shared-memory layout and message names used between the simulated device's host side
// (device.ts, main thread) and its VM worker (worker.mjs). Plain JavaScript so the worker
// needs no TypeScript loader; types are in protocol.d.mts.

// ctl: Int32Array over a SharedArrayBuffer.
export const CTL_RESP = 0; // 0 while a request is pending, 1 once the host has answered
export const CTL_RESULT = 1; // result code of the last request (>= 0, or a negative errno)
export const CTL_LEN = 2; // number of bytes of the answer written to the data buffer
export const CTL_GEN = 3; // bumped (and notified) on every change of any socket's status
export const CTL_SIZE = 4;

// data: Uint8Array over a SharedArrayBuffer, carries answers (received bytes, strings).
export const DATA_CAP = 256 * 1024;

// status: Int32Array, STATUS_FIELDS int32s per socket slot; written by the host only.
export const MAX_SOCKETS = 64;
export const STATUS_FIELDS = 5;
export const ST_STATE = 0; // one of the S_* states below
export const ST_ERRNO = 1; // errno (VM numbering) when the state is S_ERROR
export const ST_QUEUED = 2; // bytes received by the host and not yet fetched by the VM
export const ST_TLS = 3; // TLS_* below
export const ST_ACCEPTED = 4; // bytes written so far that the host's TCP stack has taken (wraps at 2^32)

// lwIP's TCP send buffer on the ESP8266 (TCP_SND_BUF, 2 x MSS): what a socket can have written
// and not yet taken by the TCP stack; a write waits for room (see README.md).
export const SND_BUF = 2920;

export const S_NEW = 0; // not connected (also: slot free)
export const S_CONNECTING = 2;
export const S_CONNECTED = 3;
export const S_PEER_CLOSED = 5; // FIN received; queued bytes may remain
export const S_ERROR = -1; // connection failed or was reset; errno in ST_ERRNO

export const TLS_NONE = 0;
export const TLS_HANDSHAKE = 1;
export const TLS_SECURE = 2;

// Result code the host gives when a TLS peer certificate fails verification.
export const TLS_VERIFY_FAILED = -100001;
// Result code for another TLS failure (protocol error, alert).
export const TLS_FAILED = -100002;

// Output "file descriptor" of the board's console in REPL mode (worker → host 'out' messages).
export const FD_REPL = 3;
