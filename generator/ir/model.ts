// The validated model (IR) that every analysis and backend reads. Built once from a spec by
// generator/spec/; backends never look at YAML again.

/** A place in a spec file, 1-based, for diagnostics and for tools that link back to the spec. */
export interface Pos {
  file: string;
  line: number;
  col: number;
}

export interface Named {
  name: string;
  doc: string;
  pos: Pos;
}

/** A use of a name (action, timer) at a place in the spec. */
export interface Ref {
  name: string;
  pos: Pos;
}

export interface TimerIR extends Named {
  /** Default duration; the runtime may configure another. */
  ms: number;
}

export interface StateIR extends Named {
  /** Index in `MachineIR.states`: document order, parents before children. */
  index: number;
  parent: number | null;
  children: number[];
  /** Child entered by default, for a compound state. */
  initial: number | null;
  final: boolean;
  entry: Ref[];
  exit: Ref[];
  timers: Ref[];
  depth: number;
}

export interface GuardUse {
  name: string;
  /** True for `unless:`. */
  negated: boolean;
  pos: Pos;
}

export interface TransitionIR {
  source: number;
  event: string;
  eventPos: Pos;
  guard: GuardUse | null;
  /** Target state index, or null to stay without exit or entry. */
  target: number | null;
  targetPos: Pos | null;
  reenter: boolean;
  actions: Ref[];
  doc: string;
  pos: Pos;
}

export interface MachineIR {
  name: string;
  doc: string;
  /** Spec file, relative to the project root. */
  file: string;
  implementation: { module: string; className: string; pos: Pos };
  /** Events the runtime feeds, in declaration order. Timer events follow them in `eventNames`. */
  events: Named[];
  guards: Named[];
  actions: Named[];
  timers: TimerIR[];
  states: StateIR[];
  /** Top-level initial state. */
  initial: number;
  /** In spec order: by state, then event, then candidate order. */
  transitions: TransitionIR[];
}

/** Every event name the machine handles: declared events, then one per timer. */
export function eventNames(m: MachineIR): string[] {
  return [...m.events.map((e) => e.name), ...m.timers.map((t) => t.name)];
}

export function isCompound(s: StateIR): boolean {
  return s.children.length > 0;
}

/** The state and its ancestors, innermost first. */
export function ancestry(m: MachineIR, index: number): StateIR[] {
  const chain: StateIR[] = [];
  for (let s: StateIR | undefined = m.states[index]; s; s = s.parent === null ? undefined : m.states[s.parent]) {
    chain.push(s);
  }
  return chain;
}

/** True if `inner` is a strict descendant of `outer`. */
export function isDescendant(m: MachineIR, inner: number, outer: number): boolean {
  return ancestry(m, inner).slice(1).some((s) => s.index === outer);
}

/** The atomic state reached by entering `index` (following initial children). */
export function initialLeaf(m: MachineIR, index: number): number {
  let s = m.states[index]!;
  while (s.initial !== null) s = m.states[s.initial]!;
  return s.index;
}
