// Where a project keeps its specs, runtime and generated files, and which board it deploys to:
// wirestate.config.json, or the "wirestate" key of package.json, in the project root. Every key
// is optional; the defaults are this repository's layout. Checked by hand against the rules of
// config.schema.json (shipped for editors), so reading it costs no schema compiler.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFIG_FILE = 'wirestate.config.json';

/** A project's layout: folders relative to the root, with forward slashes. */
export interface Layout {
  /** Absolute project root. */
  root: string;
  spec: string;
  runtime: string;
  generated: string;
  /** The three folders the generator owns, under `generated`. */
  micropython: string;
  xstate: string;
  diagrams: string;
  deploy: { target: string };
  /** The file the configuration came from (project-relative), or null for the defaults. */
  source: string | null;
}

export const DEFAULTS = { spec: 'spec', runtime: 'runtime-esp8266', generated: 'generated', deploy: { target: 'sim' } } as const;

/** A configuration file that cannot be used; the message names the file and the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The JSON Schema of wirestate.config.json, inside the installed package. */
export const configSchemaPath: string = fileURLToPath(new URL('./config.schema.json', import.meta.url));

/** The JSON Schema of specs, inside the installed package. */
export const specSchemaPath: string = fileURLToPath(new URL('../../spec/wirestate.schema.json', import.meta.url));

/**
 * The spec schema as a spec in `specDir` (absolute) refers to it: a relative path with forward
 * slashes, for its `# yaml-language-server: $schema=` line.
 */
export function specSchemaReference(specDir: string): string {
  return relative(specDir, specSchemaPath).split(sep).join('/');
}

/** Reads the project's configuration; throws ConfigError when it is malformed. */
export function loadLayout(root: string): Layout {
  const { raw, source } = readConfig(root);
  const folder = (key: 'spec' | 'runtime' | 'generated'): string => {
    const v = raw[key];
    if (v === undefined) return DEFAULTS[key];
    if (typeof v !== 'string' || !v) throw new ConfigError(`${source}: "${key}" must be a folder name (a non-empty string)`);
    const n = normalize(v).split(sep).join('/').replace(/\/$/, '');
    if (isAbsolute(v) || n === '..' || n.startsWith('../')) throw new ConfigError(`${source}: "${key}" must be a folder inside the project, not ${JSON.stringify(v)}`);
    return n;
  };
  for (const key of Object.keys(raw)) {
    if (!['$schema', 'spec', 'runtime', 'generated', 'deploy'].includes(key)) throw new ConfigError(`${source}: unknown key "${key}" (known: spec, runtime, generated, deploy)`);
  }
  const deploy = raw.deploy ?? {};
  if (typeof deploy !== 'object' || deploy === null || Array.isArray(deploy)) throw new ConfigError(`${source}: "deploy" must be an object`);
  for (const key of Object.keys(deploy)) if (key !== 'target') throw new ConfigError(`${source}: unknown key "deploy.${key}" (known: target)`);
  const target = (deploy as { target?: unknown }).target ?? DEFAULTS.deploy.target;
  if (typeof target !== 'string' || !target) throw new ConfigError(`${source}: "deploy.target" must be "sim", a serial port or a ws:// address`);
  const generated = folder('generated');
  const layout: Layout = {
    root,
    spec: folder('spec'),
    runtime: folder('runtime'),
    generated,
    micropython: `${generated}/micropython`,
    xstate: `${generated}/xstate`,
    diagrams: `${generated}/diagrams`,
    deploy: { target },
    source,
  };
  const clash = (['spec', 'runtime'] as const).find((k) => layout[k] === generated || layout[k].startsWith(generated + '/') || generated.startsWith(layout[k] + '/'));
  if (clash) throw new ConfigError(`${source}: "${clash}" (${layout[clash]}) and "generated" (${generated}) overlap: the generator would overwrite or remove your files`);
  return layout;
}

function readConfig(root: string): { raw: Record<string, unknown>; source: string | null } {
  const file = join(root, CONFIG_FILE);
  if (existsSync(file)) return { raw: object(parse(file, CONFIG_FILE), CONFIG_FILE), source: CONFIG_FILE };
  const pkg = join(root, 'package.json');
  if (existsSync(pkg)) {
    const data = parse(pkg, 'package.json') as Record<string, unknown> | null;
    if (data && typeof data === 'object' && data.wirestate !== undefined) return { raw: object(data.wirestate, 'package.json "wirestate"'), source: 'package.json "wirestate"' };
  }
  return { raw: {}, source: null };
}

function parse(file: string, name: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(`${name}: not valid JSON: ${(e as Error).message}`);
  }
}

function object(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(`${name}: must be a JSON object`);
  return v as Record<string, unknown>;
}
