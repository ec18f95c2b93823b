// A MicroPython manifest (manifest.py) that freezes the runtime and the tables into a firmware
// the user builds: frozen bytecode runs from flash, so the modules cost no heap for their code.
// MicroPython's build reads a manifest with its working folder set to the manifest's, so every
// path here is relative to where manifest.py is: it works from wherever `make` runs.

import * as path from 'node:path';
import { version } from '../version.ts';
import { hostPackage } from './files.ts';
import { packageOf } from './packages.ts';
import type { BoardFile } from './sync.ts';

/** How a manifest written by freeze begins: one that does not is the user's, and is not overwritten. */
export const HEADER = '# Written by `wirestate freeze`';

/** The port's own manifest: the frozen modules the firmware needs (on the ESP8266, _boot.py mounts the filesystem). */
export const PORT_MANIFEST = '$(PORT_DIR)/boards/manifest.py';

export interface ManifestOptions {
  /** Project root: where the runtime and generated folders are. */
  root: string;
  /** Where manifest.py goes (absolute). */
  out: string;
  /** The runtime files chosen (board paths under /lib). */
  runtime: BoardFile[];
  /** The user's modules to freeze too, as host paths. */
  apps: string[];
  /** A manifest to include first (the port's or the board's), or null for none. */
  base: string | null;
  /** Lines for the header: what was chosen. */
  said: string[];
}

/** A path from the manifest's folder to `to`, with forward slashes. */
function relativeTo(out: string, to: string): string {
  return path.relative(path.dirname(out), to).split(path.sep).join('/') || '.';
}

const str = (s: string) => JSON.stringify(s);

/** The text of manifest.py. */
export function manifestPy(o: ManifestOptions): string {
  const packages = [...new Set(o.runtime.map((f) => packageOf(f.path) as string))].sort();
  const lines = [
    `${HEADER} (wirestate ${version}): the runtime and the tables frozen into`,
    '# the firmware, where they run from flash. Build it from a MicroPython checkout, e.g. for an ESP8266:',
    '#',
    '#   make -C ports/esp8266 BOARD=ESP8266_GENERIC FROZEN_MANIFEST=/full/path/to/manifest.py',
    '#',
    "# Paths are relative to this file's folder, as the build reads them.",
    ...o.said.map((s) => `# ${s}`),
    '',
  ];
  if (o.base) lines.push(`include(${str(o.base)})`, '');
  for (const name of packages) {
    const { base, folder } = hostPackage(o.root, name);
    lines.push(folder ? `package(${str(name)}, base_path=${str(relativeTo(o.out, base))})` : `module(${str(`${name}.py`)}, base_path=${str(relativeTo(o.out, base))})`);
  }
  for (const app of o.apps) lines.push(`module(${str(path.basename(app))}, base_path=${str(relativeTo(o.out, path.dirname(path.resolve(app))))})`);
  return lines.join('\n') + '\n';
}
