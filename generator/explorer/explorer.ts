// The explorer: one self-contained HTML file showing every machine's diagram (the SVG the
// pipeline renders), the transitions of a clicked state with their place in the spec, a search,
// and the replay of a trace file. Nothing is fetched: styles, script, diagrams and data are
// inline, and the page's Content-Security-Policy forbids any request.
//
// The page script is client.mjs after trace/format.mjs, inlined as one module, so the browser
// reads trace files with the same code as `wirestate trace decode`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { micropythonModuleName } from '../analyses/ids.ts';
import { guardText, stateDetails, stateElementId, transitionElementId } from '../backends/diagrams.ts';
import { escapeHtml, oneLine } from '../backends/text.ts';
import { knownMachine } from '../trace/decode.ts';
import type { Build, CompiledMachine } from '../pipeline.ts';
import { version } from '../version.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** What the page script knows of a machine; indices are those of MachineIR.states and .transitions. */
interface ExplorerMachine {
  name: string;
  doc: string;
  file: string;
  module: string;
  /** For the trace format's nameTrace(): version and names by table id. */
  known: ReturnType<typeof knownMachine>;
  states: { name: string; doc: string; line: number; parent: number | null; final: boolean; compound: boolean; details: string[]; element: string }[];
  transitions: { source: number; event: string; guard: string; actions: string[]; target: number | null; reenter: boolean; doc: string; line: number; element: string }[];
  /** moves[leaf id][event id]: [to leaf id, transition] for each way the tables may go. */
  moves: [number, number][][][];
  /** Leaf id -> state index. */
  leaves: number[];
  start: number;
}

function explorerData(c: CompiledMachine): ExplorerMachine {
  const { machine: m, flat } = c;
  const { leafId } = c.tables;
  return {
    name: m.name,
    doc: oneLine(m.doc),
    file: m.file,
    module: micropythonModuleName(m.name),
    known: knownMachine(c),
    states: m.states.map((s) => ({
      name: s.name,
      doc: oneLine(s.doc),
      line: s.pos.line,
      parent: s.parent,
      final: s.final,
      compound: s.children.length > 0,
      details: stateDetails(m, s).filter((d) => d.transition === undefined).map((d) => d.text),
      element: stateElementId(m.name, s.name),
    })),
    transitions: m.transitions.map((t, i) => ({
      source: t.source,
      event: t.event,
      guard: guardText(m, t),
      actions: t.actions.map((a) => a.name),
      target: t.target,
      reenter: t.reenter,
      doc: oneLine(t.doc),
      line: t.pos.line,
      element: transitionElementId(m.name, i),
    })),
    moves: flat.candidates.map((row, leaf) =>
      row.map((cands) => cands.map((cand): [number, number] => [cand.target === null ? leaf : leafId.get(cand.target)!, m.transitions.indexOf(cand.transition)])),
    ),
    leaves: flat.leaves,
    start: leafId.get(flat.start.target)!,
  };
}

/** The explorer page for a build (its machines and their rendered SVGs). */
export function explorerHtml(build: Build): string {
  const machines = build.machines.map((c) => {
    const svg = build.outputs.get(`${build.layout.diagrams}/${c.machine.name}.svg`);
    if (svg === undefined) throw new Error(`no diagram was rendered for ${c.machine.name}`);
    // Inline SVG in HTML: no XML declaration or doctype.
    return { data: explorerData(c), svg: svg.slice(svg.indexOf('<svg')) };
  });
  const data = JSON.stringify(machines.map((x) => x.data)).replace(/</g, '\\u003c');
  const tabs = machines.map(({ data: d }) => `<button type="button" role="tab" data-machine="${d.name}">${d.name}</button>`).join('');
  const panels = machines
    .map(({ data: d, svg }) => `<section class="machine" id="machine-${d.name}" data-machine="${d.name}" hidden>\n<p class="doc">${escapeHtml(d.doc)} <code>${d.file}</code></p>\n${svg}</section>`)
    .join('\n');
  const script = pageScript();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="wirestate ${version}">
<title>wirestate explorer</title>
<style>
${readFileSync(here('explorer.css'), 'utf8').trimEnd()}
</style>
</head>
<body>
<header>
<h1>wirestate explorer</h1>
<nav id="tabs" role="tablist">${tabs}</nav>
<input id="search" type="search" placeholder="Find a state, event, guard or action" autocomplete="off">
<label class="file">Trace file <input id="trace-file" type="file"></label>
</header>
<main>
<div id="diagrams">
${panels}
</div>
<aside>
<ul id="search-results" hidden></ul>
<div id="trace" hidden>
<h2>Trace</h2>
<p id="trace-error" role="alert" hidden></p>
<div id="trace-controls"><button type="button" id="trace-prev">Previous</button><button type="button" id="trace-play">Play</button><button type="button" id="trace-next">Next</button><span id="trace-position"></span></div>
<ol id="trace-steps" start="0"></ol>
</div>
<div id="details"><p class="hint">Click a state to see its transitions. Load a trace file (from <code>wirestate sim run --trace</code> or <code>fsmtrace.save()</code> on a device) to replay it.</p></div>
</aside>
</main>
<script type="application/json" id="machines">${data}</script>
<script type="module">
${script}
</script>
</body>
</html>
`;
}

/** format.mjs, then client.mjs without its import of it: one inline module. */
function pageScript(): string {
  const format = readFileSync(here('../trace/format.mjs'), 'utf8');
  const client = readFileSync(here('client.mjs'), 'utf8');
  const load = /^import \{[^}]*\} from '\.\.\/trace\/format\.mjs';\n/m;
  if (!load.test(client)) throw new Error('explorer/client.mjs must import trace/format.mjs on one line');
  const script = `${format}\n${client.replace(load, '')}`;
  if (/<\/script/i.test(script)) throw new Error('the page script must not contain </script');
  return script.trimEnd();
}
