// Trace files, as runtime-esp8266/fsmtrace.py writes them; read by `wirestate trace decode`
// and by the explorer, which inlines this file into its page. So it is plain JavaScript with
// no imports, the same in Node and in a browser.
//
// Layout, little-endian:
//   'WST1'                         magic, with the format's version
//   u8 machines, then per machine  in the order records number them:
//     u32 version                  hash of its tables (generator/analyses/fingerprint.ts)
//     u8 length, name              the table module's __name__, say 'websocket_fsm'
//   u32 records, u32 dropped       records in the file; older ones the device had no room for
//   records                        4 bytes each: machine, from state, event, to state; event 255
//                                  is the machine starting (its from state means nothing)

const MAGIC = 'WST1';
const START = 255;
const RECORD_SIZE = 4;

/** A trace that cannot be read or does not fit the project; `record` is the first bad one. */
export class TraceError extends Error {
  constructor(message, record) {
    super(record === undefined ? message : `record ${record}: ${message}`);
    this.name = 'TraceError';
    this.record = record;
  }
}

export function formatVersion(v) {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

/** The machines, records and dropped count of a trace file's bytes; throws TraceError. */
export function parseTrace(bytes) {
  const u32 = (at) => (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
  const need = (at, n, what) => {
    if (at + n > bytes.length) throw new TraceError(`the header is cut short: the file ends at byte ${bytes.length}, in ${what}`);
  };
  if (bytes.length < MAGIC.length || String.fromCharCode(...bytes.subarray(0, MAGIC.length)) !== MAGIC) {
    throw new TraceError(`not a wirestate trace: it does not start with '${MAGIC}'`);
  }
  let at = MAGIC.length;
  need(at, 1, 'the number of machines');
  const count = bytes[at++];
  const machines = [];
  for (let k = 0; k < count; k++) {
    need(at, 5, `machine ${k}`);
    const version = u32(at);
    const length = bytes[at + 4];
    at += 5;
    need(at, length, `machine ${k}'s name`);
    machines.push({ module: String.fromCharCode(...bytes.subarray(at, at + length)), version });
    at += length;
  }
  need(at, 8, 'the number of records');
  const n = u32(at);
  const dropped = u32(at + 4);
  at += 8;
  const held = Math.floor((bytes.length - at) / RECORD_SIZE);
  if (held < n) {
    const partial = (bytes.length - at) % RECORD_SIZE;
    throw new TraceError(
      partial ? `cut short: the file ends ${partial} of its ${RECORD_SIZE} bytes into it` : `missing: the header announces ${n} records, the file holds ${held}`,
      held,
    );
  }
  const extra = bytes.length - at - n * RECORD_SIZE;
  if (extra) throw new TraceError(`${extra} bytes follow the last record (${n - 1}) that the header announces`);
  const records = [];
  for (let i = 0; i < n; i++, at += RECORD_SIZE) {
    records.push({ machine: bytes[at], from: bytes[at + 1], event: bytes[at + 2], to: bytes[at + 3] });
  }
  return { machines, dropped, records };
}

/**
 * Names every record of a parsed trace. `known(module)` describes the project's machine with
 * that table module (its name without a package, as generated): { name, file, version,
 * states, events } with states and events as names in id order, or undefined. Throws
 * TraceError at the first record that does not fit: an unknown machine, another spec version,
 * or an id out of range.
 */
export function nameTrace(trace, known) {
  return trace.records.map((r, i) => {
    const header = trace.machines[r.machine];
    if (!header) throw new TraceError(`machine ${r.machine}, but the header lists ${trace.machines.length}`, i);
    const m = known(header.module.slice(header.module.lastIndexOf('.') + 1));
    if (!m) throw new TraceError(`machine '${header.module}' is not one of this project's machines`, i);
    if (m.version !== header.version) {
      throw new TraceError(
        `${header.module} was traced with spec version ${formatVersion(header.version)}, but ${m.file} is version ${formatVersion(m.version)}: the trace comes from another version of the spec`,
        i,
      );
    }
    const id = (value, names, what) => {
      if (value >= names.length) throw new TraceError(`${what} ${value} is out of range: ${m.name} has ${names.length} ${what}s`, i);
      return names[value];
    };
    const start = r.event === START;
    return {
      record: i,
      machine: m.name,
      from: start ? null : id(r.from, m.states, 'state'),
      event: start ? null : id(r.event, m.events, 'event'),
      to: id(r.to, m.states, 'state'),
      ids: r,
    };
  });
}
