// Builds the IR from a schema-valid spec, resolving every name. Each unresolved or clashing
// name becomes a diagnostic at the place it is written.
import type { Node } from 'yaml';
import type { GuardUse, MachineIR, Named, Pos, Ref, StateIR, TimerIR, TransitionIR } from '../ir/model.ts';
import { warning, type Diagnostic } from './diagnostics.ts';
import { child, entries, isMap, isScalar, isSeq, items, posAt, text, type SpecSource } from './source.ts';

export function buildMachine(source: SpecSource): { machine?: MachineIR; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const root = source.doc.contents as Node;
  const at = (node: Node | null | undefined): Pos => posAt(source, node);
  const report = (node: Node | null | undefined, message: string) => diagnostics.push({ ...at(node), message });

  const named = (section: string): Named[] =>
    entries(child(root, section)).map(([key, value, name]) => ({
      name,
      doc: text(value) ?? text(child(value, 'doc')) ?? '',
      pos: at(key),
    }));

  const events = named('events');
  const guards = named('guards');
  const actions = named('actions');
  const timers: TimerIR[] = entries(child(root, 'timers')).map(([key, value, name]) => ({
    name,
    doc: text(child(value, 'doc')) ?? '',
    ms: Number(text(child(value, 'ms'))),
    pos: at(key),
  }));

  const eventSet = new Map(events.map((e) => [e.name, e]));
  for (const t of timers) {
    const clash = eventSet.get(t.name);
    if (clash) {
      report(keyNode(root, ['timers', t.name]), `timer '${t.name}' raises the event '${t.name}', which is also declared under events (line ${clash.pos.line}); rename one`);
    }
  }
  const handled = new Set([...events.map((e) => e.name), ...timers.map((t) => t.name)]);
  const guardSet = new Set(guards.map((g) => g.name));
  const actionSet = new Set(actions.map((a) => a.name));
  const timerSet = new Set(timers.map((t) => t.name));

  const implText = text(child(root, 'implementation')) ?? '';
  const [module = '', className = ''] = implText.split(':');

  // States, depth first in document order, so a compound state's leaves are contiguous.
  const states: StateIR[] = [];
  const stateNodes: Node[] = [];
  const byName = new Map<string, StateIR>();
  const walk = (statesNode: Node | null, parent: StateIR | null) => {
    for (const [key, value, name] of entries(statesNode)) {
      const s: StateIR = {
        name,
        doc: text(child(value, 'doc')) ?? '',
        pos: at(key),
        index: states.length,
        parent: parent?.index ?? null,
        children: [],
        initial: null,
        final: text(child(value, 'final')) === 'true',
        entry: [],
        exit: [],
        timers: [],
        depth: parent ? parent.depth + 1 : 0,
      };
      const first = byName.get(name);
      if (first) report(key, `duplicate state name '${name}' (first declared at line ${first.pos.line}); state names are unique across the machine`);
      else byName.set(name, s);
      states.push(s);
      stateNodes.push(value as Node);
      parent?.children.push(s.index);
      walk(child(value, 'states'), s);
    }
  };
  walk(child(root, 'states'), null);

  const refs = (node: Node | null, known: Set<string>, kind: string): Ref[] =>
    items(node).map((n) => {
      const name = text(n) ?? '';
      if (!known.has(name)) report(n, `unknown ${kind} '${name}'${suggest(name, known)}`);
      return { name, pos: at(n) };
    });

  for (const s of states) {
    const node = stateNodes[s.index]!;
    s.entry = refs(child(node, 'entry'), actionSet, 'action');
    s.exit = refs(child(node, 'exit'), actionSet, 'action');
    s.timers = refs(child(node, 'timers'), timerSet, 'timer');
    const initialNode = child(node, 'initial');
    if (s.children.length > 0) {
      const name = text(initialNode);
      const target = name === undefined ? undefined : byName.get(name);
      if (name === undefined) report(keyNode(node, ['states']) ?? node, `state '${s.name}' has child states but no 'initial' naming the one entered by default`);
      else if (!target || target.parent !== s.index) report(initialNode, `'initial' of '${s.name}' must name one of its child states (${s.children.map((c) => states[c]!.name).join(', ')})`);
      else s.initial = target.index;
    } else if (initialNode) {
      report(initialNode, `'initial' is only meaningful on a state with child states`);
    }
    if (s.final) {
      const why =
        s.parent !== null ? 'must be a top-level state'
        : s.children.length > 0 ? 'cannot have child states'
        : child(node, 'on') ? 'cannot have transitions (the machine stops there)'
        : s.exit.length > 0 ? 'cannot have exit actions (the machine stops there)'
        : s.timers.length > 0 ? 'cannot have timers (the machine stops there)'
        : '';
      if (why) report(keyNode(root, statePath(states, s)), `final state '${s.name}' ${why}`);
    }
  }

  const initialNode = child(root, 'initial');
  const initialState = byName.get(text(initialNode) ?? '');
  if (!initialState || initialState.parent !== null) {
    report(initialNode, `'initial' must name a top-level state (${states.filter((s) => s.parent === null).map((s) => s.name).join(', ')})`);
  }

  const transitions: TransitionIR[] = [];
  for (const s of states) {
    for (const [eventKey, value, event] of entries(child(stateNodes[s.index]!, 'on'))) {
      if (!handled.has(event)) report(eventKey, `unknown event '${event}'${suggest(event, handled)}`);
      const candidates = isSeq(value) ? (value.items as Node[]) : [value as Node];
      for (const c of candidates) {
        const targetNode = isScalar(c) ? c : child(c, 'target');
        const targetName = text(targetNode);
        let target: number | null = null;
        if (targetName !== undefined) {
          const t = byName.get(targetName);
          if (!t) report(targetNode, `unknown state '${targetName}'${suggest(targetName, new Set(byName.keys()))}`);
          else target = t.index;
        }
        let guard: GuardUse | null = null;
        for (const [field, negated] of [['guard', false], ['unless', true]] as const) {
          const g = isMap(c) ? child(c, field) : null;
          if (!g) continue;
          const name = text(g) ?? '';
          if (!guardSet.has(name)) report(g, `unknown guard '${name}'${suggest(name, guardSet)}`);
          guard = { name, negated, pos: at(g) };
        }
        const reenter = isMap(c) && text(child(c, 'reenter')) === 'true';
        if (reenter && targetName === undefined) report(keyNode(c, ['reenter']), `'reenter' needs a target`);
        transitions.push({
          source: s.index,
          event,
          eventPos: at(eventKey),
          guard,
          target,
          targetPos: targetNode ? at(targetNode) : null,
          reenter,
          actions: isMap(c) ? refs(child(c, 'actions'), actionSet, 'action') : [],
          doc: isMap(c) ? (text(child(c, 'doc')) ?? '') : '',
          pos: at(c),
        });
      }
    }
  }

  if (diagnostics.length > 0 || !initialState) return { diagnostics };
  // A doc is what the diagrams, the explorer, the generated comments and `stub` show.
  const undocumented = (what: string, items: { name: string; doc: string; pos: Pos }[]) =>
    items.filter((x) => !x.doc).forEach((x) => diagnostics.push(warning(x.pos, `${what} '${x.name}' has no doc: say in a sentence what it is`)));
  const machineName = text(child(root, 'machine')) ?? '';
  if (!text(child(root, 'doc'))) diagnostics.push(warning(at(keyNode(root, ['machine'])), `machine '${machineName}' has no doc: say in a sentence or two what it is`));
  undocumented('event', events);
  undocumented('guard', guards);
  undocumented('action', actions);
  undocumented('timer', timers);
  undocumented('state', states);
  return {
    diagnostics,
    machine: {
      name: text(child(root, 'machine')) ?? '',
      doc: text(child(root, 'doc')) ?? '',
      file: source.file,
      implementation: { module, className, pos: at(child(root, 'implementation')) },
      events,
      guards,
      actions,
      timers,
      states,
      initial: initialState.index,
      transitions,
    },
  };
}

function statePath(states: StateIR[], s: StateIR): string[] {
  const path: string[] = [];
  for (let c: StateIR | undefined = s; c; c = c.parent === null ? undefined : states[c.parent]) path.unshift('states', c.name);
  return path;
}

/** The key node at a path of mapping keys, for pointing at a name rather than its body. */
function keyNode(node: Node | null, path: string[]): Node | null {
  let cur: Node | null = node;
  for (let i = 0; i < path.length; i++) {
    if (!isMap(cur)) return null;
    const pair = cur.items.find((p) => isScalar(p.key) && p.key.value === path[i]);
    if (!pair) return null;
    if (i === path.length - 1) return pair.key as Node;
    cur = pair.value as Node;
  }
  return cur;
}

/** " (did you mean 'x'?)" for a near miss. */
function suggest(name: string, known: Set<string>): string {
  let best = '';
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}
