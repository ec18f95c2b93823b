// Differential harness: runs one event sequence through both forms of a machine and reduces
// each to the same trace, step by step.
//
// - XState: the generated machine, driven with the pure initialTransition() / transition(), so
//   nothing executes; the returned action objects are the trace.
// - MicroPython: the generated table module interpreted by the toolkit's fsm.py in the
//   simulated VM, with a recorder object as the implementation (guard() answers from the
//   event's true guards, act() and every write to o.timers are logged in order).
//
// A test event is an event name plus the names of the guards that are true while it is handled.
// The repository's differential tests and `wirestate test` (for a user's own specs) both use it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { compileProject, type CompiledMachine } from '../pipeline.ts';
import { SpecError } from '../spec/diagnostics.ts';
import { eventNames, type MachineIR } from '../ir/model.ts';
import { micropythonModuleName } from '../analyses/ids.ts';
import { emitXState, xstateMachineName } from '../backends/xstate.ts';
import { importXStateModule } from '../backends/xstate-load.ts';
import { emitMicropython } from '../backends/micropython.ts';
import { TOOLKIT_ROOT, type SimDevice } from '../sim/device.ts';

export interface TestEvent {
  type: string;
  trueGuards: string[];
}

/** What one step (start, or one event) did. */
export interface StepResult {
  /** False when the event was ignored: no candidate transition, or none whose guard held. */
  handled: boolean;
  /** Atomic state after the step. */
  state: string;
  /** Actions by name and timer operations (`arm <timer>`, `cancel <timer>`), in order. */
  trace: string[];
}

/** Step 0 is start; step i + 1 is event i. */
export type RunResult = StepResult[];

export interface MachineUnderTest {
  name: string;
  specFile: string;
  compiled: CompiledMachine;
  /** The generated XState machine with guards answering from `event.trueGuards`. */
  xstate: AnyStateMachine;
  /** Python module name of the generated tables. */
  pyModule: string;
  /** Its source. */
  tables: string;
  /** Every event name, declared events then timer events. */
  events: string[];
  /** Every guard name, in id order. */
  guards: string[];
}

/**
 * Where the two forms come from: `generated`, the files in the project's generated/ (the
 * XState module imported as TypeScript, so under vitest or tsx); `memory`, emitted from the
 * specs now, the XState module transpiled to JavaScript (what `wirestate test` runs).
 */
export type FormsFrom = 'generated' | 'memory';

/** Every spec of the project, compiled, with both forms of each machine. */
export async function loadMachines(root = TOOLKIT_ROOT, from: FormsFrom = 'generated', compiled?: CompiledMachine[]): Promise<MachineUnderTest[]> {
  const out: MachineUnderTest[] = [];
  if (!compiled) {
    try {
      // All specs together: a runtime module may use the ids of machines from several specs.
      compiled = compileProject(root);
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      throw new Error(`the specs do not compile:\n${e.message}`);
    }
  }
  for (const c of compiled) {
    const m = c.machine;
    const file = `generated/xstate/${m.name}.ts`;
    const mod = from === 'generated' ? ((await import(pathToFileURL(join(root, file)).href)) as Record<string, unknown>) : await importXStateModule(emitXState(m));
    const exported = mod[xstateMachineName(m.name)] as AnyStateMachine | undefined;
    if (!exported) throw new Error(`${file} does not export ${xstateMachineName(m.name)}`);
    const guards = Object.fromEntries(
      m.guards.map((g) => [g.name, ({ event }: { event: Partial<TestEvent> }) => (event.trueGuards ?? []).includes(g.name)]),
    );
    // transition() never executes actions; these only replace the inert defaults.
    const actions = Object.fromEntries(m.actions.map((a) => [a.name, () => {}]));
    out.push({
      name: m.name,
      specFile: m.file,
      compiled: c,
      xstate: exported.provide({ guards, actions } as never) as AnyStateMachine,
      pyModule: micropythonModuleName(m.name),
      tables: from === 'generated' ? readFileSync(join(root, 'generated', 'micropython', `${micropythonModuleName(m.name)}.py`), 'utf8') : emitMicropython(c.flat, c.tables),
      events: eventNames(m),
      guards: m.guards.map((g) => g.name),
    });
  }
  return out;
}

/** Files for a SimDevice: the toolkit's interpreter and every machine's tables, in /lib. */
export function deviceFiles(machines: MachineUnderTest[]): Record<string, string> {
  const files: Record<string, string> = { '/lib/fsm.py': readFileSync(join(TOOLKIT_ROOT, 'runtime-esp8266', 'fsm.py'), 'utf8') };
  for (const m of machines) files[`/lib/${m.pyModule}.py`] = m.tables;
  return files;
}

// ------------------------------------------------------------------------------------- events

/** Guard names used by the transitions on `event`, in spec order. */
function guardsFor(m: MachineIR, event: string): string[] {
  return [...new Set(m.transitions.filter((t) => t.event === event && t.guard).map((t) => t.guard!.name))];
}

/** Every event with every subset of the guards its transitions use. */
function eventVariants(mut: MachineUnderTest): TestEvent[] {
  return mut.events.flatMap((type) => subsets(guardsFor(mut.compiled.machine, type)).map((trueGuards) => ({ type, trueGuards })));
}

function subsets<T>(items: T[]): T[][] {
  return items.reduce<T[][]>((acc, x) => [...acc, ...acc.map((s) => [...s, x])], [[]]);
}

/** The test events of an xstate/graph path, without XState's init step. */
function eventsOf(p: { steps: { event: unknown }[] }): TestEvent[] {
  return p.steps.map((s) => s.event as TestEvent).filter((e) => !e.type.startsWith('xstate.'));
}

export interface PathSuite {
  variants: TestEvent[];
  /** Events of every shortest path from xstate/graph: one per reachable state. */
  prefixes: TestEvent[][];
  /** The prefixes, then each prefix followed by each variant: every transition of every reachable state. */
  sequences: TestEvent[][];
}

/**
 * Traverses the XState machine with every event variant. XState's internal `xstate.after.*`
 * events are never offered: a timer's own event stands for its expiry.
 */
export function pathSuite(mut: MachineUnderTest): PathSuite {
  const variants = eventVariants(mut);
  const prefixes = getShortestPaths(mut.xstate, { events: variants }).map(eventsOf);
  return { variants, prefixes, sequences: [...prefixes, ...prefixes.flatMap((p) => variants.map((v) => [...p, v]))] };
}

function formatEvent(e: TestEvent): string {
  return e.trueGuards.length ? `${e.type}{${e.trueGuards.join(',')}}` : e.type;
}

// ------------------------------------------------------------------------------------- XState

/** The atomic state of a snapshot (wirestate machines have no parallel states; ids equal names). */
export function atomicName(value: unknown): string {
  let v = value;
  while (typeof v === 'object' && v !== null) {
    const keys = Object.keys(v);
    if (keys.length !== 1) return `?${JSON.stringify(value)}`;
    v = (v as Record<string, unknown>)[keys[0]!];
  }
  return String(v);
}

interface ActionObject {
  type: string;
  params?: unknown;
}

const AFTER = 'xstate.after.';

/**
 * XState action objects as trace entries. A delayed raise of `xstate.after.<timer>.<state>`
 * arms the timer and a cancel of that id cancels it; the state must be one that lists the timer
 * and the delay must be the spec's, else the entry says what is wrong so that it cannot match.
 */
function xstateTrace(mut: MachineUnderTest, actions: readonly ActionObject[]): string[] {
  const m = mut.compiled.machine;
  const timerOf = (id: unknown): { timer: string; ok: boolean } | null => {
    if (typeof id !== 'string' || !id.startsWith(AFTER)) return null;
    const rest = id.slice(AFTER.length);
    const t = m.timers.find((t) => rest.startsWith(`${t.name}.`));
    if (!t) return null;
    const stateId = rest.slice(t.name.length + 1);
    const ok = m.states.some((s) => s.name === stateId && s.timers.some((r) => r.name === t.name));
    return { timer: t.name, ok };
  };
  return actions.map((a) => {
    const p = (a.params ?? {}) as { event?: { type?: unknown }; id?: unknown; delay?: unknown; sendId?: unknown };
    if (a.type === 'xstate.raise') {
      const eventType = p.event?.type;
      if (p.delay === undefined) return `raise ${String(eventType)}`;
      const t = timerOf(eventType);
      if (!t || p.id !== eventType) return `?delayed raise ${JSON.stringify(p)}`;
      const ms = m.timers.find((x) => x.name === t.timer)!.ms;
      if (!t.ok) return `?arm ${t.timer} from a state without it: ${String(eventType)}`;
      return p.delay === ms ? `arm ${t.timer}` : `?arm ${t.timer} after ${String(p.delay)} ms instead of ${ms}`;
    }
    if (a.type === 'xstate.cancel') {
      const t = timerOf(p.sendId);
      if (!t) return `?cancel ${JSON.stringify(p)}`;
      return t.ok ? `cancel ${t.timer}` : `?cancel ${t.timer} from a state without it: ${String(p.sendId)}`;
    }
    return m.actions.some((x) => x.name === a.type) ? a.type : `?${a.type}`;
  });
}

/** One XState step, `handled` meaning that a transition was selected (guards included). */
export function xstateStep(mut: MachineUnderTest, snapshot: AnyMachineSnapshot, event: { type: string; trueGuards?: string[] }): [AnyMachineSnapshot, StepResult] {
  const selected = snapshot.status === 'active' ? mut.xstate.getTransitionData(snapshot, event as never) : [];
  const [next, actions] = transition(mut.xstate, snapshot, event as never);
  const trace = xstateTrace(mut, actions as ActionObject[]);
  // Not handled must also mean nothing happened; say so in the trace if it is not the case.
  if (selected.length === 0 && (next !== snapshot || actions.length)) trace.push('?snapshot changed with no transition selected');
  return [next, { handled: selected.length > 0, state: atomicName(next.value), trace }];
}

/** The XState snapshot after start and `events`. */
export function xstateSnapshotAfter(mut: MachineUnderTest, events: readonly TestEvent[]): AnyMachineSnapshot {
  let [snapshot] = initialTransition(mut.xstate) as [AnyMachineSnapshot, unknown];
  for (const e of events) [snapshot] = transition(mut.xstate, snapshot, e as never) as [AnyMachineSnapshot, unknown];
  return snapshot;
}

export function runXState(mut: MachineUnderTest, events: readonly TestEvent[]): RunResult {
  const [s0, a0] = initialTransition(mut.xstate);
  const out: RunResult = [{ handled: true, state: atomicName(s0.value), trace: xstateTrace(mut, a0 as ActionObject[]) }];
  let snapshot = s0 as AnyMachineSnapshot;
  for (const e of events) {
    const [next, step] = xstateStep(mut, snapshot, e);
    out.push(step);
    snapshot = next;
  }
  return out;
}

// --------------------------------------------------------------------------------- MicroPython

/**
 * Defined once per VM. `_DiffRec` is the implementing object: fsm.start() assigns `o.timers` a
 * plain list, which the property setter wraps in `_DiffTimers`, so every timer write fsm.fire()
 * makes is logged in order with the actions. Log entries use the tables' own step encoding:
 * action id below NA, NA + 2k when timer k is armed, NA + 2k + 1 when it is cancelled.
 *
 * Results go to a file as bytes, per step [handled, state, n, n entries]: the VM's json.dumps
 * takes seconds for a megabyte, a file read takes nothing.
 */
const PY_HARNESS = `
import fsm

class _DiffTimers:
    def __init__(self, rec, v):
        self.rec = rec
        self.v = list(v)

    def __len__(self):
        return len(self.v)

    def __getitem__(self, k):
        return self.v[k]

    def __setitem__(self, k, x):
        self.v[k] = x
        self.rec.log.append(self.rec.na + 2 * k + (x is None))


class _DiffRec:
    def __init__(self, m):
        self.na = m.NA
        self.log = bytearray()
        self.true = ()
        self.delays = m.TIMER_MS
        self._t = None

    def _get_timers(self):
        return self._t

    def _set_timers(self, v):
        self._t = _DiffTimers(self, v)

    timers = property(_get_timers, _set_timers)

    def guard(self, g):
        return g in self.true

    def act(self, a):
        self.log.append(a)


class _DiffTables:
    pass


def _diff_with_prog(m, prog):
    t = _DiffTables()
    for k in ('NE', 'NA', 'TIMER_MS', 'ROW', 'CELL', 'OFF'):
        setattr(t, k, getattr(m, k))
    t.PROG = bytes(prog)
    return t


def _diff_step(out, handled, o):
    out.append(1 if handled else 0)
    out.append(o.state)
    out.append(len(o.log))
    out.extend(o.log)


def _diff_run(paths, jobs):
    out = bytearray()
    for m, which in jobs:
        for i in which:
            o = _DiffRec(m)
            fsm.start(m, o)
            _diff_step(out, True, o)
            for ev, true in paths[i]:
                o.log = bytearray()
                o.true = true
                _diff_step(out, fsm.fire(m, o, ev), o)
    with open('/_diff.bin', 'wb') as f:
        f.write(out)
`;

export async function installHarness(dev: SimDevice, machines: MachineUnderTest[]): Promise<void> {
  await dev.exec(PY_HARNESS + machines.map((m) => `import ${m.pyModule}\n`).join(''));
}

/** Runs every sequence on the VM in one exec. */
export async function runMicroPython(dev: SimDevice, mut: MachineUnderTest, sequences: readonly (readonly TestEvent[])[]): Promise<RunResult[]> {
  const [runs] = await runTables(dev, mut, sequences, [{ prog: null, which: sequences.map((_, i) => i) }]);
  return runs!;
}

export interface TablesJob {
  /** Null for the module's PROG, else a replacement (the module's other tables are kept). */
  prog: readonly number[] | null;
  /** Indices of the sequences to run. */
  which: readonly number[];
}

/** Runs sequences against tables, for each job; one exec and one file read for all. */
export async function runTables(
  dev: SimDevice,
  mut: MachineUnderTest,
  sequences: readonly (readonly TestEvent[])[],
  jobs: readonly TablesJob[],
): Promise<RunResult[][]> {
  const { flat, machine: m } = mut.compiled;
  const guardId = (g: string) => {
    const i = mut.guards.indexOf(g);
    if (i < 0) throw new Error(`unknown guard ${g}`);
    return i;
  };
  const encoded = sequences.map((seq) =>
    seq.map((e) => {
      const ev = flat.events.indexOf(e.type);
      if (ev < 0) throw new Error(`unknown event ${e.type}`);
      return [ev, e.trueGuards.map(guardId)];
    }),
  );
  const module = (p: readonly number[] | null) => (p ? `_diff_with_prog(${mut.pyModule}, ${JSON.stringify(p)})` : mut.pyModule);
  // JSON lists of ints are Python literals.
  const jobList = jobs.map((j) => `(${module(j.prog)}, ${JSON.stringify(j.which)})`).join(', ');
  await dev.exec(`_diff_run(${JSON.stringify(encoded)}, [${jobList}])`);
  const bytes = await dev.readFile('/_diff.bin');

  const na = m.actions.length;
  const stateName = (id: number) => {
    const leaf = flat.leaves[id];
    return leaf === undefined ? `?state ${id}` : m.states[leaf]!.name;
  };
  const entry = (x: number) => {
    if (x < na) return m.actions[x]!.name;
    const y = x - na;
    const timer = m.timers[y >> 1]?.name ?? `?timer ${y >> 1}`;
    return `${y & 1 ? 'cancel' : 'arm'} ${timer}`;
  };
  let p = 0;
  const out = jobs.map((job) =>
    job.which.map((i) =>
      Array.from({ length: sequences[i]!.length + 1 }, (): StepResult => {
        const handled = bytes[p++] === 1;
        const state = stateName(bytes[p++]!);
        const n = bytes[p++]!;
        const trace = Array.from(bytes.subarray(p, (p += n)), entry);
        return { handled, state, trace };
      }),
    ),
  );
  if (p !== bytes.length) throw new Error(`read ${p} of ${bytes.length} result bytes: the harness and the VM disagree on the layout`);
  return out;
}

// ---------------------------------------------------------------------------------- comparing

function formatStep(s: StepResult): string {
  return `${s.handled ? '' : '(ignored) '}-> ${s.state}${s.trace.length ? `: ${s.trace.join(', ')}` : ''}`;
}

export function formatRun(events: readonly TestEvent[], run: RunResult): string {
  return run.map((s, i) => `    ${(i === 0 ? 'start' : formatEvent(events[i - 1]!)).padEnd(40)} ${formatStep(s)}`).join('\n');
}

const sameStep = (a: StepResult, b: StepResult) => a.handled === b.handled && a.state === b.state && a.trace.join('\n') === b.trace.join('\n');

/** Null if both runs agree at every step, else a report with both traces. */
export function compareRuns(machine: string, events: readonly TestEvent[], xs: RunResult, py: RunResult): string | null {
  const n = Math.max(xs.length, py.length);
  for (let i = 0; i < n; i++) {
    const a = xs[i];
    const b = py[i];
    if (a && b && sameStep(a, b)) continue;
    const at = i === 0 ? 'start' : `event ${i} (${formatEvent(events[i - 1]!)})`;
    return [
      `${machine}: the two forms differ at ${at}`,
      `  events: ${events.map(formatEvent).join(' ') || '(none)'}`,
      `  xstate:`,
      formatRun(events, xs),
      `  micropython:`,
      formatRun(events, py),
    ].join('\n');
  }
  return null;
}
