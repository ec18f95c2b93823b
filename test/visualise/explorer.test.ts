// The explorer in a real browser: Debian's headless Chromium driven by playwright-core opens the
// file `wirestate visualise --html` writes, with no network at all; a click on a state lists its
// transitions and their spec lines, the search finds states, events and actions, and a trace
// captured from a real simulated run of the WebSocket client replays step by step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { compileProject } from '../../generator/pipeline.ts';
import { guardText, transitionElementId } from '../../generator/backends/diagrams.ts';
import { copyOfRepo, removeRoot, repoRoot, runCli } from '../generator/support.ts';
import { captureEchoTrace, echoSteps, echoStepsWith, editedTrace, pngSize } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing) {
  console.warn(`\n*** SKIPPED: the explorer suite in headless Chromium: ${CHROMIUM} is missing. Install it with: sudo apt-get install chromium ***\n`);
}

const machines = compileProject(repoRoot).map((c) => c.machine);
const ws = machines.find((m) => m.name === 'websocket')!;
const state = (name: string) => ws.states.find((s) => s.name === name)!;
/** Playwright selector of an element by id (ours contain dots). */
const byId = (id: string) => `[id="${id}"]`;
const candidate = (source: string, event: string, guard?: string) =>
  ws.transitions.findIndex((t) => ws.states[t.source]!.name === source && t.event === event && (guard === undefined || t.guard?.name === guard));
// With several machines, search results and trace steps name theirs.
const inSearch = machines.length > 1 ? 'websocket ' : '';
const inTrace = machines.length > 1 ? 'websocket: ' : '';

describe.skipIf(missing)('the explorer in headless Chromium', () => {
  let dir: string;
  let root: string;
  let html: string;
  let trace: string;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wirestate-explorer-'));
    root = copyOfRepo('explorer');
    html = join(dir, 'explorer.html');
    const [v, captured] = await Promise.all([runCli(['visualise', '--root', root, '--html', html]), captureEchoTrace(dir)]);
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(new RegExp(`explorer: ${html} \\(\\d+ KB\\)\\n$`));
    expect(captured.run.code).toBe(0);
    trace = captured.trace;
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pathToFileURL(html).href);
  }, 120_000);

  /** An element's box on the screen (or that of the first matching `selector`). */
  const rect = (selector: string) =>
    page.$eval(selector, (e) => {
      const { left, top, right, bottom, width, height } = e.getBoundingClientRect();
      return { left, top, right, bottom, width, height };
    });
  type Rect = Awaited<ReturnType<typeof rect>>;
  /** The box a machine's diagram is drawn in, and the whole diagram as drawn (it may overflow the box). */
  const view = (machine: string) => rect(`#machine-${machine} .view`);
  const graph = (machine: string) => rect(`#machine-${machine} svg > g.graph`);
  const inside = (r: Rect, v: Rect) => r.left >= v.left - 0.5 && r.right <= v.right + 0.5 && r.top >= v.top - 0.5 && r.bottom <= v.bottom + 0.5;
  const apart = (r: Rect, v: Rect) => r.right < v.left || r.left > v.right || r.bottom < v.top || r.top > v.bottom;
  const zoomLevel = async () => Number.parseInt((await page.textContent('#zoom-level'))!);
  /** Fits the websocket diagram, then zooms in with the wheel at the corner of its view farthest from the state, until the state is out of view. */
  const zoomAwayFrom = async (stateName: string) => {
    await page.click('#zoom-fit');
    const v = await view('websocket');
    const s = await rect(byId(`s.websocket.${stateName}`));
    const x = (s.left + s.right) / 2 < (v.left + v.right) / 2 ? v.right - 5 : v.left + 5;
    const y = (s.top + s.bottom) / 2 < (v.top + v.bottom) / 2 ? v.bottom - 5 : v.top + 5;
    await page.mouse.move(x, y);
    const before = (await graph('websocket')).width;
    await page.mouse.wheel(0, -800);
    await expect.poll(async () => (await graph('websocket')).width).toBeGreaterThan(before * 4);
    expect(apart(await rect(byId(`s.websocket.${stateName}`)), v), `${stateName} is out of view`).toBe(true);
  };

  /** Picks a trace file in the page, and waits until it is read. */
  const loadTrace = async (file: string) => {
    await page.setInputFiles('#trace-file', file);
    await page.waitForSelector(`#trace[data-file="${basename(file)}"]`, { state: 'attached' });
  };

  afterAll(async () => {
    await context?.close();
    removeRoot(root);
    removeRoot(dir);
  });

  it('is one file that forbids itself any request', () => {
    const text = readFileSync(html, 'utf8');
    expect(text).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    expect(text).not.toMatch(/\b(src|href)="?(https?:)?\/\//);
    console.log(`explorer: ${(statSync(html).size / 1024).toFixed(0)} KB for ${machines.length} machines`);
  });

  it('shows every machine, a tab each, the first on screen', async () => {
    const tabs = await page.$$eval('#tabs button', (bs) => bs.map((b) => b.textContent));
    expect(tabs).toEqual(machines.map((m) => m.name));
    for (const m of machines) expect(await page.locator(byId(`s.${m.name}.${m.states[m.initial]!.name}`)).count(), m.name).toBe(1);
    expect(await page.locator(`#machine-${machines[0]!.name}`).isVisible()).toBe(true);
    if (machines.length > 1) {
      await page.click(`#tabs button[data-machine="${machines[1]!.name}"]`);
      expect(await page.locator(`#machine-${machines[0]!.name}`).isVisible()).toBe(false);
    }
    await page.click('#tabs button[data-machine="websocket"]');
    expect(await page.locator('#machine-websocket').isVisible()).toBe(true);
  });

  it('fits each diagram to the window when it is first shown, whatever its size', async () => {
    const natural = await Promise.all(machines.map((m) => page.$eval(`#machine-${m.name} svg`, (svg) => ({ width: svg.width.baseVal.value, height: svg.height.baseVal.value }))));
    const largest = natural.reduce((a, b, i) => (b.width * b.height > natural[a]!.width * natural[a]!.height ? i : a), 0);
    // machines[0] is fitted on load, the others when first shown (the test before showed two of
    // them); showing one again keeps its view.
    for (const [i, m] of machines.entries()) {
      await page.click(`#tabs button[data-machine="${m.name}"]`);
      const v = await view(m.name);
      const g = await graph(m.name);
      expect(inside(g, v), `${m.name}: ${JSON.stringify(g)} inside ${JSON.stringify(v)}`).toBe(true);
      // It fills the view's width or its height (margins aside), or is shown at its natural size.
      expect(Math.max(g.width / (v.width - 24), g.height / (v.height - 24), g.width / natural[i]!.width), m.name).toBeGreaterThan(0.99);
      if (i === largest) {
        expect(natural[i]!.width > v.width || natural[i]!.height > v.height, `${m.name} is larger than the window`).toBe(true);
        expect(await zoomLevel()).toBeLessThan(100);
      }
    }
    // A fitted diagram is fitted again when the window shrinks, and the zoom level says so.
    const last = machines.length - 1;
    const before = await zoomLevel();
    await page.setViewportSize({ width: 1000, height: 640 });
    await expect.poll(zoomLevel).toBeLessThan(before);
    const [v, g] = [await view(machines[last]!.name), await graph(machines[last]!.name)];
    expect(inside(g, v)).toBe(true);
    expect(Math.max(g.width / (v.width - 24), g.height / (v.height - 24))).toBeGreaterThan(0.99);
    expect(await zoomLevel()).toBeCloseTo((g.width / natural[last]!.width) * 100, -0.5);
    await page.setViewportSize({ width: 1400, height: 900 });
    await expect.poll(async () => (await view(machines[last]!.name)).width).toBeGreaterThan(v.width);
  });

  it('zooms with the wheel around the pointer, the buttons and + and -; pans by dragging and with the arrow keys; 0 fits again', async () => {
    await page.click('#tabs button[data-machine="websocket"]');
    const fitted = await graph('websocket');
    const fittedLevel = await zoomLevel();
    const v = await view('websocket');
    const pointer = { x: v.left + v.width / 3, y: v.top + v.height / 2 };
    await page.mouse.move(pointer.x, pointer.y);
    await page.mouse.wheel(0, -300);
    await expect.poll(async () => (await graph('websocket')).width).toBeGreaterThan(fitted.width * 1.5);
    const zoomed = await graph('websocket');
    expect(await zoomLevel()).toBeGreaterThan(fittedLevel * 1.5);
    // The point of the diagram under the pointer stays under it.
    expect(zoomed.left + ((pointer.x - fitted.left) / fitted.width) * zoomed.width).toBeCloseTo(pointer.x, 0);
    expect(zoomed.top + ((pointer.y - fitted.top) / fitted.height) * zoomed.height).toBeCloseTo(pointer.y, 0);
    await page.mouse.wheel(0, 300);
    await expect.poll(async () => (await graph('websocket')).width).toBeCloseTo(fitted.width, 0);

    await page.click('#zoom-in');
    expect((await graph('websocket')).width).toBeCloseTo(fitted.width * 1.25, 0);
    expect(await zoomLevel()).toBeGreaterThan(fittedLevel);
    await page.click('#zoom-out');
    await page.click('#zoom-out');
    expect((await graph('websocket')).width).toBeCloseTo(fitted.width / 1.25, 0);
    await page.click('#zoom-fit');
    expect(await graph('websocket')).toEqual(fitted);

    // A drag that starts on a state moves the diagram, and does not select the state.
    await page.keyboard.press('+');
    const before = await graph('websocket');
    expect(before.width).toBeCloseTo(fitted.width * 1.25, 0);
    const idle = await rect(byId('s.websocket.idle'));
    await page.mouse.move((idle.left + idle.right) / 2, (idle.top + idle.bottom) / 2);
    await page.mouse.down();
    await page.mouse.move((idle.left + idle.right) / 2 - 150, (idle.top + idle.bottom) / 2 - 100, { steps: 5 });
    await page.mouse.up();
    const dragged = await graph('websocket');
    expect([dragged.left - before.left, dragged.top - before.top, dragged.width]).toEqual([-150, -100, before.width].map((n) => expect.closeTo(n, 0)));
    expect(await page.locator('.selected').count()).toBe(0);

    // No trace is loaded: every arrow key pans, an eighth of the view at a time; Shift+arrow too.
    await page.keyboard.press('ArrowLeft');
    expect((await graph('websocket')).left - dragged.left).toBeCloseTo(v.width / 8, 0);
    await page.keyboard.press('ArrowUp');
    expect((await graph('websocket')).top - dragged.top).toBeCloseTo(v.height / 8, 0);
    await page.keyboard.press('Shift+ArrowRight');
    await page.keyboard.press('ArrowDown');
    expect(await graph('websocket')).toEqual(dragged);
    await page.keyboard.press('-');
    await page.keyboard.press('-');
    expect((await graph('websocket')).width).toBeCloseTo(fitted.width / 1.25, 0);
    await page.keyboard.press('0');
    expect(await graph('websocket')).toEqual(fitted);
  });

  it('lists a clicked state\'s transitions, its own then its ancestors\', with their spec lines', async () => {
    await page.click(byId('s.websocket.idle'));
    expect(await page.textContent('#state-name')).toBe('idle');
    expect(await page.textContent('#state-where')).toBe(`spec/websocket.yaml:${state('idle').pos.line}`);
    expect(await page.getAttribute(byId('s.websocket.idle'), 'class')).toContain('selected');
    const rows = await page.$$eval('#transitions tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    const expected = [state('idle'), state('open')].flatMap((s) =>
      ws.transitions
        .filter((t) => t.source === s.index)
        .map((t) => [
          t.event + (s.name === 'idle' ? '' : ' from open'),
          guardText(ws, t) ? `[${guardText(ws, t)}]` : '',
          t.actions.map((a) => a.name).join(', '),
          t.target === null ? '(stays)' : ws.states[t.target]!.name,
          `spec/websocket.yaml:${t.pos.line}`,
        ]),
    );
    expect(rows).toEqual(expected);
    expect(rows[0]).toEqual(['text', '[!utf8_ok]', 'fail_invalid_text', 'sent', `spec/websocket.yaml:${ws.transitions[candidate('idle', 'text')]!.pos.line}`]);

    // A compound state, by its label.
    await page.locator(`${byId('s.websocket.closing')} text`).first().click();
    expect(await page.textContent('#state-name')).toBe('closing');
    expect(await page.$$eval('#transitions tbody tr', (trs) => trs.map((tr) => tr.firstChild!.textContent))).toEqual(['tcp_closed', 'close_timeout']);
  });

  it('finds states, events, guards and actions', async () => {
    /** The results about the WebSocket machine (or that nothing matches), each as `kind text`. */
    const results = async (q: string) => {
      await page.fill('#search', q);
      const all = await page.$$eval('#search-results li:not([data-machine]), #search-results li[data-machine="websocket"]', (lis) => lis.map((li) => li.textContent!.trim()));
      return all.map((r) => r.replace(` ${inSearch}`, ' '));
    };
    expect(await results('deliver_text')).toEqual(['action idle: text [fin] / begin_message, deliver_text → (stays)', 'action in_text: continuation [fin] / append_fragment, deliver_text → idle']);
    expect(await page.locator(`${byId(`a_${transitionElementId('websocket', candidate('in_text', 'continuation', 'fin'))}`)}.match`).count()).toBe(1);
    expect(await results('closing')).toEqual(['state closing']);
    expect(await results('utf8_ok')).toEqual(['guard idle: text [!utf8_ok] / fail_invalid_text → sent', 'guard in_text: continuation [!utf8_ok] / fail_invalid_text → sent']);
    expect(await results('handshake_response')).toEqual(['event connecting: handshake_response [handshake_ok] → open', 'event connecting: handshake_response [else] / fail_handshake → failed']);
    expect(await results('send_handshake')).toEqual(['state connecting: entry / send_handshake']);
    expect(await results('no_such_thing')).toEqual(["Nothing matches 'no_such_thing'."]);
    await results('record_close');
    await page.click('#search-results li');
    expect(await page.textContent('#state-name')).toBe('sent');
    await page.fill('#search', '');
    expect(await page.locator('#search-results').isHidden()).toBe(true);
    expect(await page.locator('.match').count()).toBe(0);
  });

  it('replays a trace of a real simulated run: next, previous, play, highlighting the state and the edge taken', async () => {
    await loadTrace(trace);
    expect(await page.textContent('#trace h2')).toMatch(new RegExp(`^Trace echo\\.wst: ${echoSteps.length} steps of websocket_fsm 0x[0-9a-f]{8}$`));
    const listed = await page.$$eval('#trace-steps li', (lis) => lis.map((li) => li.textContent));
    expect(listed).toEqual(echoStepsWith(listed as string[]).map((s) => inTrace + s.replace(/ --(\w+)--> /, ' —$1→ ').replace(' -> ', ' → ')));
    const current = () => page.$$eval('.current', (es) => es.map((e) => e.id || e.textContent));
    const taken = () => page.$$eval('.taken', (es) => es.map((e) => e.id).sort());
    const last = echoSteps.length - 1;

    expect(await page.textContent('#trace-position')).toBe(`step 0 of ${last}`);
    expect(await current()).toEqual(['s.websocket.connecting', `${inTrace}start → connecting`]);
    expect(await taken()).toEqual([]);

    await page.click('#trace-next');
    expect(await page.textContent('#trace-position')).toBe(`step 1 of ${last}`);
    expect(await current()).toEqual(['s.websocket.idle', `${inTrace}connecting —handshake_response→ idle`]);
    const handshake = candidate('connecting', 'handshake_response', 'handshake_ok');
    expect(await taken()).toEqual([`a_${transitionElementId('websocket', handshake)}`, `e.websocket.${handshake}`]);
    expect(await page.textContent('#state-name')).toBe('idle');

    // A transition that stays: its line in the state is highlighted, there is no edge.
    await page.click('#trace-next');
    await page.click('#trace-next');
    expect(await taken()).toEqual([`a_${transitionElementId('websocket', candidate('idle', 'text', 'fin'))}`]);

    await page.click('#trace-prev');
    await page.click('#trace-prev');
    expect(await page.textContent('#trace-position')).toBe(`step 1 of ${last}`);
    await page.click('#trace-prev');
    await page.click('#trace-prev');
    expect(await page.textContent('#trace-position')).toBe('step 0 of ' + last);

    await page.click('#trace-play');
    expect(await page.textContent('#trace-play')).toBe('Pause');
    await expect.poll(() => page.textContent('#trace-position'), { timeout: 30_000, interval: 200 }).toBe(`step ${last} of ${last}`);
    await expect.poll(() => page.textContent('#trace-play')).toBe('Play');
    expect(await current()).toEqual(['s.websocket.closed', `${inTrace}received —tcp_closed→ closed`]);
    const tcpClosed = candidate('closing', 'tcp_closed');
    expect(await taken()).toEqual([`a_${transitionElementId('websocket', tcpClosed)}`, `e.websocket.${tcpClosed}`]);
    expect(await page.locator('#trace-steps li.impossible').count()).toBe(0);

    const shot = join(dir, 'explorer.png');
    await page.screenshot({ path: shot });
    const png = readFileSync(shot);
    expect(pngSize(png)).toEqual({ width: 1400, height: 900 });
    expect(png.length).toBeGreaterThan(30_000);
  });

  it('pans the state a trace step or a search result selects into view, zooming out only when it does not fit', async () => {
    await zoomAwayFrom('connecting');
    const zoomed = (await graph('websocket')).width;
    await page.click('#trace-steps li >> nth=0');
    expect(await page.textContent('#trace-position')).toBe(`step 0 of ${echoSteps.length - 1}`);
    expect(inside(await rect(byId('s.websocket.connecting')), await view('websocket'))).toBe(true);
    expect((await graph('websocket')).width).toBeCloseTo(zoomed, 0);

    // With a trace loaded, the Right arrow steps it (even right after a file was picked); Shift+Right pans.
    await zoomAwayFrom('idle');
    await page.focus('#trace-file');
    await page.keyboard.press('ArrowRight');
    expect(await page.textContent('#trace-position')).toBe(`step 1 of ${echoSteps.length - 1}`);
    expect(inside(await rect(byId('s.websocket.idle')), await view('websocket'))).toBe(true);
    const stepped = await graph('websocket');
    await page.keyboard.press('Shift+ArrowRight');
    expect(await page.textContent('#trace-position')).toBe(`step 1 of ${echoSteps.length - 1}`);
    expect((await graph('websocket')).left).toBeCloseTo(stepped.left - (await view('websocket')).width / 8, 0);

    await zoomAwayFrom('closed');
    const far = (await graph('websocket')).width;
    await page.fill('#search', 'closed');
    await page.locator('#search-results li[data-machine="websocket"]', { hasText: new RegExp(`^state ${inSearch}closed$`) }).click();
    expect(await page.textContent('#state-name')).toBe('closed');
    expect(inside(await rect(byId('s.websocket.closed')), await view('websocket'))).toBe(true);
    expect((await graph('websocket')).width).toBeCloseTo(far, 0);

    // A state larger than the view at this zoom: the view zooms out until it fits.
    await page.fill('#search', 'open');
    await page.locator('#search-results li[data-machine="websocket"]', { hasText: new RegExp(`^state ${inSearch}open$`) }).click();
    const v = await view('websocket');
    const open = await rect(byId('s.websocket.open'));
    expect(inside(open, v)).toBe(true);
    expect(Math.max(open.width / (v.width - 24), open.height / (v.height - 24))).toBeCloseTo(1, 2);
    expect((await graph('websocket')).width).toBeLessThan(far);
    await page.fill('#search', '');
  });

  it('marks a step the machine cannot make', async () => {
    const bad = editedTrace(trace, join(dir, 'impossible.wst'), (b, at) => {
      b[at + 11 * 4 + 3] = b[at + 1 * 4 + 3]!; // sent --close--> idle
      return b;
    });
    await loadTrace(bad);
    expect(await page.$$eval('#trace-steps li.impossible', (lis) => lis.map((li) => li.textContent))).toEqual([`${inTrace}sent —close→ idle impossible`]);
    expect(await page.locator('#trace-error').isHidden()).toBe(true);
  });

  it('names the first bad record of a corrupt trace or one from another spec version', async () => {
    const cut = editedTrace(trace, join(dir, 'cut.wst'), (b) => b.subarray(0, b.length - 1));
    await loadTrace(cut);
    expect(await page.textContent('#trace-error')).toBe(`cut.wst: record ${echoSteps.length - 1}: cut short: the file ends 3 of its 4 bytes into it`);
    expect(await page.locator('#trace-steps li').count()).toBe(0);
    const other = editedTrace(trace, join(dir, 'other.wst'), (b) => ((b[5] = b[5]! ^ 1), b));
    await loadTrace(other);
    expect(await page.textContent('#trace-error')).toMatch(/^other\.wst: record 0: websocket_fsm was traced with spec version 0x[0-9a-f]{8}, but spec\/websocket\.yaml is version 0x[0-9a-f]{8}: the trace comes from another version of the spec$/);
  });

  it('made no request but for the page itself, and no script error', () => {
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(html).href]);
  });
});
