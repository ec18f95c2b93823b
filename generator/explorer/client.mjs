// The explorer's page script (explorer.ts inlines it after trace/format.mjs, dropping the import
// below). It runs in the browser on the machines explorer.ts embeds (ExplorerMachine there),
// and finds diagram elements by the ids the diagram backend gives them.
import { TraceError, formatVersion, nameTrace, parseTrace } from '../trace/format.mjs';

const machines = JSON.parse(document.getElementById('machines').textContent);
const byName = new Map(machines.map((m) => [m.name, m]));
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** Moves class `cls` to `elements` (nulls skipped). */
function mark(cls, elements) {
  for (const e of document.querySelectorAll(`.${cls}`)) e.classList.remove(cls);
  for (const e of elements) e?.classList.add(cls);
}

const stateElement = (m, s) => document.getElementById(m.states[s].element);

/** The line that shows a transition (in an edge's label or a state's), and its edge if any. */
function transitionElements(m, t) {
  const line = document.getElementById(`a_${m.transitions[t].element}`);
  return [line, line?.closest('g.edge')];
}

function show(name) {
  for (const s of document.querySelectorAll('section.machine')) s.hidden = s.dataset.machine !== name;
  for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.machine === name));
  shown = views.get(name);
  // Fitted only now: a hidden diagram has no size to fit to.
  if (shown) refresh(shown);
}

// ------------------------------------------------------------------------ zoom and pan
// Each diagram is drawn in its .view box, which clips it; the view is the SVG's viewBox: the
// diagram point (x, y) at the box's top left corner and k screen pixels per diagram unit.

const views = new Map(
  [...document.querySelectorAll('section.machine')].map((section) => {
    const svg = section.querySelector('svg');
    const { x, y, width, height } = svg.viewBox.baseVal;
    // natural: the scale of the SVG's own width and height, shown as 100 %.
    return [section.dataset.machine, { box: section.querySelector('.view'), svg, whole: { x, y, w: width, h: height }, natural: svg.width.baseVal.value / width, x: 0, y: 0, k: 0, fitted: true }];
  }),
);
let shown;
const MARGIN = 12; // screen pixels kept around a fitted diagram or a revealed state
const STEP = 1.25; // zoom factor of a button or key press

function apply(v) {
  const { clientWidth: w, clientHeight: h } = v.box;
  if (!w || !h) return;
  // Keep the view's centre on the diagram, so panning never loses it.
  const { whole } = v;
  v.x = Math.min(Math.max(v.x + w / 2 / v.k, whole.x), whole.x + whole.w) - w / 2 / v.k;
  v.y = Math.min(Math.max(v.y + h / 2 / v.k, whole.y), whole.y + whole.h) - h / 2 / v.k;
  v.svg.setAttribute('viewBox', `${v.x} ${v.y} ${w / v.k} ${h / v.k}`);
  if (v === shown) $('zoom-level').textContent = `${Math.round((v.k / v.natural) * 100)} %`;
}

/** Shows the diagram box `r` (in diagram units) centred, at scale k. */
function centre(v, r, k) {
  v.k = k;
  v.x = r.x + r.w / 2 - v.box.clientWidth / 2 / k;
  v.y = r.y + r.h / 2 - v.box.clientHeight / 2 / k;
  apply(v);
}

/** The largest scale at which box r fits in the view, margins kept. */
function fitting(v, r) {
  return Math.min((v.box.clientWidth - 2 * MARGIN) / r.w, (v.box.clientHeight - 2 * MARGIN) / r.h);
}

/** The scale that shows the whole diagram, never larger than its natural size. */
const fitScale = (v) => Math.max(Math.min(fitting(v, v.whole), v.natural), 1e-3);

function fit(v) {
  if (!v.box.clientWidth || !v.box.clientHeight) return;
  centre(v, v.whole, fitScale(v));
  v.fitted = true;
}

/** Draws v again for its box's size: a fitted diagram stays fitted, a zoomed one keeps its scale. */
const refresh = (v) => (v.fitted ? fit(v) : apply(v));

/** Zooms by factor around the view point (px, py), in pixels from the box's top left corner. */
function zoom(v, factor, px = v.box.clientWidth / 2, py = v.box.clientHeight / 2) {
  const k = Math.min(Math.max(v.k * factor, fitScale(v) / 2), v.natural * 8);
  v.x += px / v.k - px / k;
  v.y += py / v.k - py / k;
  v.k = k;
  v.fitted = false;
  apply(v);
}

/** Moves the diagram by (dx, dy) screen pixels. */
function pan(v, dx, dy) {
  v.x -= dx / v.k;
  v.y -= dy / v.k;
  v.fitted = false;
  apply(v);
}

/** Pans element into view unless it is in view already, zooming out only if it does not fit. */
function reveal(element) {
  const v = shown;
  const b = v.box.getBoundingClientRect();
  const e = element.getBoundingClientRect();
  if (e.left >= b.left + MARGIN && e.right <= b.right - MARGIN && e.top >= b.top + MARGIN && e.bottom <= b.bottom - MARGIN) return;
  const r = { x: v.x + (e.left - b.left) / v.k, y: v.y + (e.top - b.top) / v.k, w: e.width / v.k, h: e.height / v.k };
  centre(v, r, Math.min(v.k, fitting(v, r)));
  v.fitted = false;
}

for (const v of views.values()) {
  v.box.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      // A wheel notch (100 pixels) zooms by e^0.2, about 1.22; a pinch gives smaller steps.
      const pixels = e.deltaY * [1, 16, v.box.clientHeight][e.deltaMode];
      const b = v.box.getBoundingClientRect();
      zoom(v, Math.exp(-pixels * 0.002), e.clientX - b.left, e.clientY - b.top);
    },
    { passive: false },
  );
  // A press that moves more than a few pixels drags the diagram; one that does not is a click.
  // Once dragging, the box captures the pointer, so the click that ends the drag is the box's,
  // not the state's under it.
  let drag = null;
  v.box.addEventListener('pointerdown', (e) => {
    if (e.button === 0) drag = { id: e.pointerId, x: e.clientX, y: e.clientY, moving: false };
  });
  v.box.addEventListener('pointermove', (e) => {
    if (drag?.id !== e.pointerId) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (!drag.moving) {
      if (Math.hypot(dx, dy) < 4) return;
      drag.moving = true;
      v.box.setPointerCapture(e.pointerId);
      v.box.classList.add('dragging');
    }
    pan(v, dx, dy);
    drag.x = e.clientX;
    drag.y = e.clientY;
  });
  const end = () => {
    drag = null;
    v.box.classList.remove('dragging');
  };
  v.box.addEventListener('pointerup', end);
  v.box.addEventListener('pointercancel', end);
}

$('zoom-in').addEventListener('click', () => zoom(shown, STEP));
$('zoom-out').addEventListener('click', () => zoom(shown, 1 / STEP));
$('zoom-fit').addEventListener('click', () => fit(shown));
new ResizeObserver(() => shown && refresh(shown)).observe($('diagrams'));

// ------------------------------------------------------------------------------ a state's card

function targetName(m, t) {
  const tr = m.transitions[t];
  return tr.target === null ? '(stays)' : m.states[tr.target].name + (tr.reenter ? ' (reenter)' : '');
}

function transitionRow(m, t, from) {
  const tr = m.transitions[t];
  const row = el(
    'tr',
    { 'data-transition': String(t), class: from === undefined ? 'own' : 'inherited', title: tr.doc },
    el('td', {}, tr.event),
    el('td', {}, tr.guard ? `[${tr.guard}]` : ''),
    el('td', {}, tr.actions.join(', ')),
    el('td', {}, targetName(m, t)),
    el('td', { class: 'where' }, `${m.file}:${tr.line}`),
  );
  if (from !== undefined) row.cells[0].append(el('small', {}, ` from ${m.states[from].name}`));
  row.addEventListener('mouseenter', () => mark('hover', transitionElements(m, t)));
  row.addEventListener('mouseleave', () => mark('hover', []));
  return row;
}

function select(m, s) {
  show(m.name);
  mark('selected', [stateElement(m, s)]);
  const state = m.states[s];
  const own = m.transitions.flatMap((t, i) => (t.source === s ? [i] : []));
  // Then its ancestors' transitions, tried after its own (innermost first).
  const inherited = [];
  for (let a = state.parent; a !== null; a = m.states[a].parent) {
    for (const [i, t] of m.transitions.entries()) if (t.source === a) inherited.push([i, a]);
  }
  const body = el('tbody', {}, ...own.map((t) => transitionRow(m, t)), ...inherited.map(([t, a]) => transitionRow(m, t, a)));
  const kind = state.final ? 'final state' : state.compound ? 'compound state' : 'state';
  $('details').replaceChildren(
    el('h2', { id: 'state-name' }, state.name),
    el('p', { class: 'meta' }, `${m.name} ${kind}, `, el('code', { id: 'state-where' }, `${m.file}:${state.line}`)),
    el('p', {}, state.doc),
    ...(state.details.length ? [el('ul', { class: 'activities' }, ...state.details.map((d) => el('li', {}, d)))] : []),
    own.length + inherited.length
      ? el(
          'table',
          { id: 'transitions' },
          el('thead', {}, el('tr', {}, ...['event', 'guard', 'actions', 'target', 'spec'].map((h) => el('th', {}, h)))),
          body,
        )
      : el('p', { class: 'hint' }, 'No transitions: the machine stops here.'),
  );
}

document.getElementById('diagrams').addEventListener('click', (e) => {
  const g = e.target.closest?.('g.state');
  const section = e.target.closest?.('section.machine');
  if (!g || !section) return;
  const m = byName.get(section.dataset.machine);
  const s = m.states.findIndex((x) => x.element === g.id);
  if (s >= 0) select(m, s);
});

for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => show(b.dataset.machine));

// ------------------------------------------------------------------------------------- search

function search(query) {
  const q = query.trim().toLowerCase();
  const list = $('search-results');
  if (!q) {
    list.hidden = true;
    mark('match', []);
    return;
  }
  const results = [];
  const hits = [];
  for (const m of machines) {
    m.states.forEach((s, i) => {
      const details = s.details.filter((d) => d.toLowerCase().includes(q));
      if (s.name.includes(q) || details.length) {
        results.push({ m, state: i, kind: 'state', text: `${s.name}${details.length ? `: ${details.join('; ')}` : ''}` });
        hits.push(stateElement(m, i));
      }
    });
    m.transitions.forEach((t, i) => {
      const kinds = [t.event.includes(q) && 'event', t.guard.includes(q) && 'guard', t.actions.some((a) => a.includes(q)) && 'action'].filter(Boolean);
      if (!kinds.length) return;
      const label = `${t.event}${t.guard ? ` [${t.guard}]` : ''}${t.actions.length ? ` / ${t.actions.join(', ')}` : ''}`;
      results.push({ m, state: t.source, kind: kinds.join(', '), text: `${m.states[t.source].name}: ${label} → ${targetName(m, i)}` });
      hits.push(...transitionElements(m, i));
    });
  }
  mark('match', hits);
  list.replaceChildren(
    ...(results.length ? results : [null]).map((r) => {
      if (!r) return el('li', { class: 'hint' }, `Nothing matches '${query.trim()}'.`);
      const li = el('li', { 'data-machine': r.m.name }, el('span', { class: 'kind' }, r.kind), ` ${machines.length > 1 ? `${r.m.name} ` : ''}${r.text}`);
      li.addEventListener('click', () => {
        select(r.m, r.state);
        reveal(stateElement(r.m, r.state));
      });
      return li;
    }),
  );
  list.hidden = false;
}

$('search').addEventListener('input', (e) => search(e.target.value));

// -------------------------------------------------------------------------------- trace replay

let steps = [];
let at = 0;
let playing = null;

function load(bytes, name) {
  pause();
  delete $('trace').dataset.file;
  $('trace').hidden = false;
  $('trace-error').hidden = true;
  steps = [];
  try {
    const trace = parseTrace(bytes);
    steps = nameTrace(trace, (module) => machines.find((m) => m.module === module)?.known).map((s) => {
      const m = byName.get(s.machine);
      const { from, event, to } = s.ids;
      const ways = s.event === null ? [] : m.moves[from][event].filter(([leaf]) => leaf === to).map(([, t]) => t);
      return { ...s, m, ways, possible: s.event === null ? to === m.start : ways.length > 0 };
    });
    const dropped = trace.dropped ? ` (the ${trace.dropped} before were dropped)` : '';
    $('trace').querySelector('h2').textContent = `Trace ${name}: ${steps.length} steps of ${trace.machines.map((x) => `${x.module} ${formatVersion(x.version)}`).join(', ')}${dropped}`;
  } catch (e) {
    if (!(e instanceof TraceError)) throw e;
    $('trace-error').textContent = `${name}: ${e.message}`;
    $('trace-error').hidden = false;
    $('trace').querySelector('h2').textContent = 'Trace';
  }
  $('trace-steps').replaceChildren(
    ...steps.map((s, i) => {
      const li = el('li', { class: s.possible ? '' : 'impossible' }, `${machines.length > 1 ? `${s.machine}: ` : ''}${s.event === null ? `start → ${s.to}` : `${s.from} —${s.event}→ ${s.to}`}`);
      if (!s.possible) li.append(el('strong', {}, ' impossible'));
      li.addEventListener('click', () => go(i));
      return li;
    }),
  );
  if (steps.length) go(0);
  else mark('current', []);
  $('trace').dataset.file = name; // loaded: file reads are asynchronous
}

function go(i) {
  if (!steps.length) return;
  at = Math.max(0, Math.min(steps.length - 1, i));
  const s = steps[at];
  const state = s.m.leaves[s.ids.to];
  select(s.m, state);
  mark('current', [stateElement(s.m, state)]);
  mark('taken', s.ways.flatMap((t) => transitionElements(s.m, t)));
  for (const [k, li] of [...$('trace-steps').children].entries()) li.classList.toggle('current', k === at);
  $('trace-steps').children[at].scrollIntoView({ block: 'nearest' });
  $('trace-position').textContent = `step ${at} of ${steps.length - 1}`;
  reveal(stateElement(s.m, state));
}

function pause() {
  clearInterval(playing);
  playing = null;
  $('trace-play').textContent = 'Play';
}

function play() {
  if (playing) return pause();
  if (at >= steps.length - 1) go(0);
  $('trace-play').textContent = 'Pause';
  playing = setInterval(() => {
    if (at >= steps.length - 1) pause();
    else go(at + 1);
  }, 700);
}

$('trace-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (file) load(new Uint8Array(await file.arrayBuffer()), file.name);
});
$('trace-next').addEventListener('click', () => go(at + 1));
$('trace-prev').addEventListener('click', () => go(at - 1));
$('trace-play').addEventListener('click', play);
// The arrow keys pan, but for Left and Right while a trace is loaded: they step it (Shift with
// them pans still).
const panKeys = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
document.addEventListener('keydown', (e) => {
  if (e.target === $('search') || e.ctrlKey || e.metaKey || e.altKey) return;
  if (steps.length && !e.shiftKey && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) go(at + (e.key === 'ArrowRight' ? 1 : -1));
  else if (e.key in panKeys) pan(shown, (panKeys[e.key][0] * shown.box.clientWidth) / 8, (panKeys[e.key][1] * shown.box.clientHeight) / 8);
  else if (e.key === '+' || e.key === '=') zoom(shown, STEP);
  else if (e.key === '-') zoom(shown, 1 / STEP);
  else if (e.key === '0') fit(shown);
  else return;
  e.preventDefault();
});

show(machines[0]?.name);
