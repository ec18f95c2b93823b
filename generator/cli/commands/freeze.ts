import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { projectAndUserFiles } from '../../deploy/files.ts';
import { HEADER, PORT_MANIFEST, manifestPy } from '../../deploy/freeze.ts';
import { DeployError } from '../../deploy/link.ts';
import { choosePackages } from '../../deploy/packages.ts';
import { EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const freeze: Command = {
  name: 'freeze',
  summary: SUMMARIES.freeze,
  usage: 'freeze [--out FILE] [--only PACKAGE]... [--main FILE] [--app FILE]... [--base MANIFEST | --base none]',
  options: {
    out: { type: 'string', description: 'where to write the manifest (default: manifest.py)' },
    only: { type: 'string', multiple: true, description: 'freeze only this package of /lib and what it imports, e.g. uwebsockets (repeat for more)' },
    main: { type: 'string', description: 'your main.py: its imports choose the packages (it stays on the filesystem)' },
    app: { type: 'string', multiple: true, description: 'a module of yours, frozen too; its imports choose the packages (repeat for more)' },
    base: { type: 'string', description: `the manifest to include first (default: ${PORT_MANIFEST}, the port's own modules); none for none` },
    force: { type: 'boolean', description: 'overwrite a manifest that wirestate freeze did not write' },
    root: { type: 'string', description: 'the project (default: .)' },
  },
  details: [
    'Frozen modules are compiled by the firmware build and run from flash: their bytecode and constants',
    'cost no heap.',
    'The manifest lists the same packages a deploy would send (--only, or what --main/--app import, or',
    "all), with paths relative to the manifest's folder, so the build finds them from wherever it runs:",
    '',
    '  make -C ports/esp8266 BOARD=ESP8266_GENERIC FROZEN_MANIFEST=/full/path/to/manifest.py',
    '',
    "The ESP8266_GENERIC firmware of 2 MB and more freezes asyncio, urequests and others besides the port's",
    "modules; --base '$(BOARD_DIR)/manifest_2MiB.py' keeps them. Frozen modules come before /lib on",
    "sys.path: copies of them deployed there are not imported (deploy --no-runtime --prune removes them).",
    '',
    'Exit status: 0 written, 1 a problem with a file, 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve((values.root as string | undefined) ?? '.');
    const out = resolve((values.out as string | undefined) ?? 'manifest.py');
    const apps = (values.app as string[] | undefined) ?? [];
    const { runtime, user } = projectAndUserFiles(root, values.main as string | undefined, apps);
    const { files, said } = choosePackages(runtime, user, values.only as string[] | undefined, 'freezing');
    const base = values.base === undefined ? PORT_MANIFEST : values.base === 'none' ? null : (values.base as string);
    if (!values.force && existsSync(out) && !readFileSync(out, 'utf8').startsWith(HEADER)) {
      throw new DeployError(`${out} exists and wirestate freeze did not write it: --force overwrites it; or write this one elsewhere (--out) and include() it from yours`);
    }
    writeFileSync(out, manifestPy({ root, out, runtime: files, apps, base, said }));
    for (const line of said) console.log(line);
    console.log(`wrote ${out}: ${files.length} runtime modules${apps.length ? ` and ${apps.length} of yours` : ''}`);
    console.log(`build: make -C ports/esp8266 BOARD=ESP8266_GENERIC FROZEN_MANIFEST=${out}`);
    return EXIT_OK;
  },
};
