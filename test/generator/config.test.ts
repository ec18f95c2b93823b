// A project's configuration (wirestate.config.json or package.json "wirestate"): the layout it
// names, the errors it gets, its JSON Schema, and the commands that follow it; and the render
// cache, whose output must be what the backends render.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG_FILE, ConfigError, DEFAULTS, configSchemaPath, loadLayout, specSchemaPath, specSchemaReference } from '../../generator/config/config.ts';
import { build } from '../../generator/pipeline.ts';
import { targetOptions } from '../../generator/deploy/target.ts';
import { cli, copyOfRepo, makeRoot, readTree, removeRoot, repoRoot, writeTree } from './support.ts';

const roots: string[] = [];
const root = (label: string) => {
  const r = makeRoot(label);
  roots.push(r);
  return r;
};
afterEach(() => roots.splice(0).forEach(removeRoot));

const withConfig = (config: unknown, file = CONFIG_FILE) => {
  const r = root('config');
  writeFileSync(join(r, file), typeof config === 'string' ? config : JSON.stringify(config));
  return r;
};

describe('loadLayout', () => {
  it('without a configuration: this repository\'s layout', () => {
    const r = root('none');
    expect(loadLayout(r)).toEqual({ root: r, spec: 'spec', runtime: 'runtime-esp8266', generated: 'generated', micropython: 'generated/micropython', xstate: 'generated/xstate', diagrams: 'generated/diagrams', deploy: { target: 'sim' }, source: null });
  });

  it('reads wirestate.config.json, folders normalised', () => {
    const r = withConfig({ $schema: 'x', spec: './machines/', runtime: 'src/py', generated: 'build//ws', deploy: { target: '/dev/ttyUSB0' } });
    expect(loadLayout(r)).toMatchObject({ spec: 'machines', runtime: 'src/py', generated: 'build/ws', xstate: 'build/ws/xstate', deploy: { target: '/dev/ttyUSB0' }, source: 'wirestate.config.json' });
  });

  it('reads the "wirestate" key of package.json; wirestate.config.json wins over it', () => {
    const r = withConfig({ name: 'p', wirestate: { runtime: 'py' } }, 'package.json');
    expect(loadLayout(r)).toMatchObject({ spec: 'spec', runtime: 'py', source: 'package.json "wirestate"' });
    writeFileSync(join(r, CONFIG_FILE), JSON.stringify({ runtime: 'lib' }));
    expect(loadLayout(r)).toMatchObject({ runtime: 'lib', source: 'wirestate.config.json' });
    expect(loadLayout(withConfig({ name: 'p' }, 'package.json')).source).toBeNull();
  });

  it.each([
    ['{"spec": ', 'wirestate.config.json: not valid JSON'],
    ['[]', 'wirestate.config.json: must be a JSON object'],
    [{ specs: 'x' }, 'wirestate.config.json: unknown key "specs" (known: spec, runtime, generated, deploy)'],
    [{ spec: '' }, 'wirestate.config.json: "spec" must be a folder name (a non-empty string)'],
    [{ runtime: 7 }, 'wirestate.config.json: "runtime" must be a folder name (a non-empty string)'],
    [{ generated: '/tmp/out' }, 'wirestate.config.json: "generated" must be a folder inside the project, not "/tmp/out"'],
    [{ spec: '../elsewhere' }, 'wirestate.config.json: "spec" must be a folder inside the project, not "../elsewhere"'],
    [{ generated: 'spec/out' }, 'wirestate.config.json: "spec" (spec) and "generated" (spec/out) overlap: the generator would overwrite or remove your files'],
    [{ runtime: 'generated/py' }, 'wirestate.config.json: "runtime" (generated/py) and "generated" (generated) overlap'],
    [{ deploy: 'sim' }, 'wirestate.config.json: "deploy" must be an object'],
    [{ deploy: { port: 'x' } }, 'wirestate.config.json: unknown key "deploy.port" (known: target)'],
    [{ deploy: { target: 3 } }, 'wirestate.config.json: "deploy.target" must be "sim", a serial port or a ws:// address'],
  ])('rejects %j: %s', (config, message) => {
    const r = withConfig(config);
    expect(() => loadLayout(r)).toThrow(ConfigError);
    expect(() => loadLayout(r)).toThrow(message);
  });

  it('a "wirestate" key that is not an object is an error naming package.json', () => {
    expect(() => loadLayout(withConfig({ wirestate: 'spec' }, 'package.json'))).toThrow('package.json "wirestate": must be a JSON object');
  });
});

describe('the JSON Schema of the configuration', () => {
  const schema = JSON.parse(readFileSync(configSchemaPath, 'utf8'));
  const require = createRequire(import.meta.url);
  const { Ajv2020 } = require('ajv/dist/2020') as { Ajv2020: new (o: object) => { compile(s: object): (d: unknown) => boolean } };
  const validate = new Ajv2020({ strict: true }).compile(schema);

  it('names the keys and defaults loadLayout knows', () => {
    expect(Object.keys(schema.properties).sort()).toEqual(['$schema', 'deploy', 'generated', 'runtime', 'spec']);
    expect(Object.keys(schema.properties.deploy.properties)).toEqual(['target']);
    for (const k of ['spec', 'runtime', 'generated'] as const) expect(schema.properties[k].default).toBe(DEFAULTS[k]);
    expect(schema.properties.deploy.properties.target.default).toBe(DEFAULTS.deploy.target);
  });

  it.each([
    [{}, true],
    [{ spec: 'machines', runtime: 'py', generated: 'gen', deploy: { target: 'ws://192.168.4.1:8266' } }, true],
    [{ specs: 'x' }, false],
    [{ spec: '' }, false],
    [{ runtime: 7 }, false],
    [{ deploy: { port: 'x' } }, false],
    [{ deploy: { target: 3 } }, false],
  ])('agrees with loadLayout on %j', (config, valid) => {
    expect(validate(config)).toBe(valid);
    const r = withConfig(config);
    if (valid) expect(() => loadLayout(r)).not.toThrow();
    else expect(() => loadLayout(r)).toThrow(ConfigError);
  });
});

describe('the spec schema', () => {
  it('is the package\'s; a spec in spec/ of this repository refers to it as its neighbour', () => {
    expect(existsSync(specSchemaPath)).toBe(true);
    expect(specSchemaReference(join(repoRoot, 'spec'))).toBe('wirestate.schema.json');
    expect(specSchemaReference(join(repoRoot, 'examples', 'x', 'spec'))).toBe('../../../spec/wirestate.schema.json');
  });
});

describe('commands follow the configuration', () => {
  /**
   * A copy of this repository's project with its runtime and generated files in other folders,
   * named by wirestate.config.json (the specs stay in spec/: generated files name their spec).
   */
  const relaid = () => {
    const r = copyOfRepo('relaid');
    roots.push(r);
    renameSync(join(r, 'runtime-esp8266'), join(r, 'device'));
    mkdirSync(join(r, 'build'));
    renameSync(join(r, 'generated'), join(r, 'build', 'ws'));
    writeFileSync(join(r, CONFIG_FILE), JSON.stringify({ runtime: 'device', generated: 'build/ws' }));
    return r;
  };

  it('generate --check reads device/ and checks build/ws/; generate removes an orphan there only', async () => {
    const r = relaid();
    const files = readTree(join(repoRoot, 'generated')).size;
    expect(await cli('generate', '--check', '--root', r)).toEqual({ code: 0, stdout: `build/ws/ is up to date (${files} files)\n`, stderr: '' });
    writeTree(r, { 'build/ws/xstate/old.ts': 'export {};\n', 'generated/xstate/mine.ts': 'export {};\n' });
    const stale = await cli('generate', '--check', '--root', r);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toBe('build/ws/ is stale; run `npx wirestate generate`:\n  orphaned build/ws/xstate/old.ts\n');
    expect((await cli('generate', '--quiet', '--root', r)).code).toBe(0);
    expect(existsSync(join(r, 'build/ws/xstate/old.ts'))).toBe(false);
    expect(existsSync(join(r, 'generated/xstate/mine.ts'))).toBe(true);
    expect(readTree(join(r, 'build/ws'))).toEqual(readTree(join(repoRoot, 'generated')));
  });

  it('the drift check reads the configured runtime folder and names it', async () => {
    const r = relaid();
    const impl = join(r, 'device', 'uwebsockets', 'response.py');
    writeFileSync(impl, readFileSync(impl, 'utf8').replace(/^_E_HANDSHAKE_RESPONSE = const\(\d+\)$/m, '_E_HANDSHAKE_RESPONSE = const(99)'));
    const r2 = await cli('generate', '--check', '--root', r);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/^device\/uwebsockets\/response\.py:\d+:\d+: .*_E_HANDSHAKE_RESPONSE/m);
  });

  it('a missing spec folder names the configuration', async () => {
    const r = withConfig({ spec: 'machines' });
    const { code, stderr } = await cli('generate', '--check', '--root', r);
    expect(code).toBe(1);
    expect(stderr).toContain(`no machines/ folder in ${r} (wirestate.config.json names it as "spec")`);
  });

  it('a bad configuration is one line, exit 1', async () => {
    const r = withConfig({ spec: 3 });
    expect(await cli('generate', '--root', r)).toEqual({ code: 1, stdout: '', stderr: 'wirestate generate: wirestate.config.json: "spec" must be a folder name (a non-empty string)\n' });
  });

  it('deploy, run and repl go to the configured board unless the command line names one', () => {
    const pick = (target: string | undefined, values: Record<string, string | boolean> = {}) => {
      const r = target === undefined ? root('board') : withConfig({ deploy: { target } });
      const o = targetOptions(values, r);
      return { port: o.port, webrepl: o.webrepl };
    };
    expect(pick(undefined)).toEqual({ port: undefined, webrepl: undefined });
    expect(pick('sim')).toEqual({ port: undefined, webrepl: undefined });
    expect(pick('/dev/ttyUSB0')).toEqual({ port: '/dev/ttyUSB0', webrepl: undefined });
    expect(pick('ws://192.168.4.1:8266')).toEqual({ port: undefined, webrepl: 'ws://192.168.4.1:8266' });
    expect(pick('/dev/ttyUSB0', { sim: true })).toEqual({ port: undefined, webrepl: undefined });
    expect(pick('/dev/ttyUSB0', { webrepl: 'ws://10.0.0.2:8266' })).toEqual({ port: undefined, webrepl: 'ws://10.0.0.2:8266' });
  });
});

describe('the render cache', () => {
  it('gives what the backends render, and follows every change of the spec', async () => {
    const cached = copyOfRepo('cached', ['spec', 'runtime-esp8266']);
    const plain = copyOfRepo('plain', ['spec', 'runtime-esp8266']);
    roots.push(cached, plain);
    mkdirSync(join(cached, 'node_modules'));
    const entries = () => readdirSync(join(cached, 'node_modules', '.cache', 'wirestate'));
    const expected = readTree(join(repoRoot, 'generated'));
    const outputs = async (r: string) => new Map([...(await build(r)).outputs].map(([p, c]) => [relative('generated', p), c]));
    expect(await outputs(cached)).toEqual(expected); // cold: fills the cache
    const filled = entries().length;
    expect(filled).toBe(3 * 5); // tables, XState module and SVG of each of the 5 machines
    expect(await outputs(cached)).toEqual(expected); // warm
    // A new doc for an event: the XState module shows it.
    for (const r of [cached, plain]) {
      const spec = join(r, 'spec', 'websocket.yaml');
      writeFileSync(spec, readFileSync(spec, 'utf8').replace('  send_ping: The application asked to send a Ping.', '  send_ping: The application asked to send a Ping (a new doc).'));
    }
    const changed = await outputs(cached);
    expect(changed).toEqual(await outputs(plain));
    expect(changed).not.toEqual(expected);
    expect(entries().length).toBeGreaterThan(filled);
  });
});
