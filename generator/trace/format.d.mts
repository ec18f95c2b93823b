// Types of format.mjs.

export declare class TraceError extends Error {
  constructor(message: string, record?: number);
  /** Index of the first bad record, if a record is to blame. */
  readonly record: number | undefined;
}

export declare function formatVersion(v: number): string;

export interface TraceRecord {
  machine: number;
  from: number;
  event: number;
  to: number;
}

export interface Trace {
  /** In the order records number them. */
  machines: { module: string; version: number }[];
  /** Older records the device had no room for. */
  dropped: number;
  records: TraceRecord[];
}

export declare function parseTrace(bytes: Uint8Array): Trace;

export interface KnownMachine {
  name: string;
  /** The spec file, for messages. */
  file: string;
  version: number;
  /** Names by id. */
  states: string[];
  events: string[];
}

export interface NamedStep {
  record: number;
  machine: string;
  /** Null when the record is the machine starting. */
  from: string | null;
  event: string | null;
  to: string;
  ids: TraceRecord;
}

export declare function nameTrace(trace: Trace, known: (module: string) => KnownMachine | undefined): NamedStep[];
