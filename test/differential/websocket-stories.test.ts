// The websocket machine told as protocol stories: each line is an event with the guards that
// hold for it (`+guard`), the atomic state it leads to and the actions and timer operations it
// runs, in order. Both forms must tell the story exactly as written, so a mistake that both
// make the same way (the spec or the flattening itself) shows up here too.
//
//   <event> [+guard ...]  -> <state>[: step, step ...]   handled
//   <event> [+guard ...]  -> <state> (ignored)           no transition taken
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimDevice } from '../../generator/sim/device.ts';
import {
  deviceFiles,
  formatRun,
  installHarness,
  loadMachines,
  runMicroPython,
  runXState,
  type RunResult,
  type StepResult,
  type TestEvent,
} from '../../generator/verify/differential.ts';

const websocket = (await loadMachines()).find((m) => m.name === 'websocket')!;
let dev: SimDevice;

beforeAll(async () => {
  dev = await SimDevice.boot({ files: deviceFiles([websocket]) });
  await installHarness(dev, [websocket]);
});

afterAll(async () => {
  await dev?.close();
});

function parse(story: string): { events: TestEvent[]; expected: RunResult } {
  const events: TestEvent[] = [];
  const expected: RunResult = [];
  for (const line of story.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const m = /^(\S+)((?:\s+\+\S+)*)\s+->\s+(\w+)(?:\s+(\(ignored\))|:\s*(.+))?$/.exec(line);
    if (!m) throw new Error(`bad story line: ${line}`);
    const [, event, guards, state, ignored, steps] = m;
    const step: StepResult = { handled: !ignored, state: state!, trace: steps ? steps.split(',').map((s) => s.trim()) : [] };
    if (event === 'start') {
      if (expected.length) throw new Error('start must come first');
    } else {
      if (!expected.length) throw new Error('a story begins with start');
      events.push({ type: event!, trueGuards: guards!.split('+').map((g) => g.trim()).filter(Boolean) });
    }
    expected.push(step);
  }
  return { events, expected };
}

async function tell(story: string): Promise<void> {
  const { events, expected } = parse(story);
  const want = formatRun(events, expected);
  expect(formatRun(events, runXState(websocket, events)), 'xstate').toBe(want);
  expect(formatRun(events, (await runMicroPython(dev, websocket, [events]))[0]!), 'micropython').toBe(want);
}

describe('websocket stories', () => {
  it('handshake, a fragmented text message with a Ping in between, then the server closes', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      text +utf8_ok                    -> in_text: begin_message
      ping                             -> in_text: send_pong
      continuation +utf8_ok            -> in_text: append_fragment
      pong                             -> in_text
      continuation +utf8_ok +fin       -> idle: append_fragment, deliver_text
      text +utf8_ok +fin               -> idle: begin_message, deliver_text
      close +close_payload_ok          -> received: reply_close, arm close_timeout
      text +utf8_ok +fin               -> received (ignored)
      tcp_closed                             -> closed: cancel close_timeout, close_tcp
      send_message                           -> closed (ignored)
    `);
  });

  it('the client closes mid-message; data still arriving is ignored and the timer ends it', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      send_message                           -> idle: write_message
      binary                           -> in_binary: begin_message
      close_request                          -> sent: write_close, arm close_timeout
      continuation +fin                -> sent (ignored)
      send_ping                              -> sent (ignored)
      close                            -> received: record_close
      close +close_payload_ok          -> received (ignored)
      close_timeout                          -> closed: cancel close_timeout, close_tcp
    `);
  });

  it('the server rejects the handshake', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      send_message                           -> connecting (ignored)
      handshake_response                     -> failed: release_handshake, cancel open_timeout, fail_handshake, close_tcp
      handshake_response +handshake_ok       -> failed (ignored)
    `);
  });

  it('the server never answers the handshake, or drops the connection during it', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      open_timeout                           -> failed: release_handshake, cancel open_timeout, fail_open_timeout, close_tcp
    `);
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      tcp_closed                             -> failed: release_handshake, cancel open_timeout, fail_handshake, close_tcp
    `);
  });

  it('invalid UTF-8 in a continuation fails the connection (1007) and the server answers', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      text +utf8_ok                    -> in_text: begin_message
      continuation +fin                -> sent: fail_invalid_text, arm close_timeout
      close +close_payload_ok          -> received: record_close
      tcp_closed                             -> closed: cancel close_timeout, close_tcp
    `);
  });

  it('protocol errors: a new message inside a fragmented one, a stray continuation, a bad Close', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      binary                           -> in_binary: begin_message
      text +utf8_ok +fin               -> sent: fail_protocol, arm close_timeout
      tcp_closed                             -> closed: cancel close_timeout, close_tcp
    `);
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      continuation +utf8_ok +fin       -> sent: fail_protocol, arm close_timeout
    `);
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      close                            -> received: fail_protocol, arm close_timeout
      close_timeout                          -> closed: cancel close_timeout, close_tcp
    `);
  });

  it('a message too big for the device, and the connection dropping while open', async () => {
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      text +utf8_ok                    -> in_text: begin_message
      message_too_big                        -> sent: fail_too_big, arm close_timeout
    `);
    await tell(`
      start                                  -> connecting: send_handshake, arm open_timeout
      handshake_response +handshake_ok       -> idle: release_handshake, cancel open_timeout
      open_timeout                           -> idle (ignored)
      tcp_closed                             -> closed: close_tcp
    `);
  });
});
