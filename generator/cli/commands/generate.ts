import { existsSync, watch } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, compare, isFresh, writeOutputs, type Build } from '../../pipeline.ts';
import { SpecError } from '../../spec/diagnostics.ts';
import { loadLayout } from '../../config/config.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';

export const generate: Command = {
  name: 'generate',
  summary: 'Validate the specs in spec/ and write generated/ (or the folders wirestate.config.json names): a table-driven MicroPython module, an XState machine and diagrams per machine.',
  usage: 'generate [--check | --watch] [--root DIR]',
  options: {
    check: { type: 'boolean', description: 'write nothing; exit 1 listing the files that are stale' },
    watch: { type: 'boolean', description: 'regenerate whenever a spec, template or runtime file changes' },
    root: { type: 'string', description: 'project root (default: the current directory)' },
    quiet: { type: 'boolean', short: 'q', description: 'print only errors' },
  },
  details: 'Exit status: 0 success, 1 invalid spec or (with --check) stale output, 2 bad command line.',
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.check && values.watch) throw new UsageError('--check and --watch do not go together');
    const root = resolve((values.root as string | undefined) ?? '.');
    const quiet = Boolean(values.quiet);
    if (values.check) return check(root);
    const status = await once(root, quiet);
    if (!values.watch) return status;
    return watchForever(root, quiet);
  },
};

async function attempt(root: string): Promise<{ result?: Build; ms: number; status: number }> {
  const t0 = performance.now();
  try {
    const result = await build(root);
    return { result, ms: performance.now() - t0, status: EXIT_OK };
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    console.error(e.message);
    console.error(`wirestate generate: ${e.diagnostics.length} error${e.diagnostics.length === 1 ? '' : 's'}; nothing was written`);
    return { ms: performance.now() - t0, status: EXIT_FAILURE };
  }
}

async function once(root: string, quiet: boolean): Promise<number> {
  const { result, ms, status } = await attempt(root);
  if (!result) return status;
  const s = writeOutputs(root, result.outputs);
  if (!quiet) {
    for (const { machine, flat, tables } of result.machines) {
      const t = tables.sizes;
      console.log(
        `${machine.name.padEnd(10)} ${machine.file}: ${machine.states.length} states (${flat.leaves.length} atomic), ${flat.events.length} events, ` +
          `${machine.transitions.length} transitions -> table ${t.total} bytes (ROW ${t.row}, CELL ${t.cell}, OFF ${t.off}, PROG ${t.prog})`,
      );
    }
    for (const p of [...s.missing, ...s.changed]) console.log(`  wrote   ${p}`);
    for (const p of s.orphaned) console.log(`  removed ${p}`);
    console.log(`generated ${result.outputs.size} files in ${ms.toFixed(0)} ms${isFresh(s) ? ' (all up to date)' : ''}`);
  }
  return EXIT_OK;
}

async function check(root: string): Promise<number> {
  const { result, status } = await attempt(root);
  if (!result) return status;
  const s = compare(root, result.outputs);
  if (isFresh(s)) {
    console.log(`${result.layout.generated}/ is up to date (${result.outputs.size} files)`);
    return EXIT_OK;
  }
  console.error(`${result.layout.generated}/ is stale; run \`npx wirestate generate\`:`);
  for (const p of s.changed) console.error(`  changed  ${p}`);
  for (const p of s.missing) console.error(`  missing  ${p}`);
  for (const p of s.orphaned) console.error(`  orphaned ${p}`);
  return EXIT_FAILURE;
}

function watchForever(root: string, quiet: boolean): Promise<number> {
  // The specs and the runtime (the drift check reads it) are the project's; templates are the toolkit's.
  const layout = loadLayout(root);
  const dirs = [resolve(root, layout.spec), resolve(root, layout.runtime), fileURLToPath(new URL('../../../templates', import.meta.url))].filter((d) => existsSync(d));
  let timer: NodeJS.Timeout | undefined;
  const rerun = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      console.log(`\n[${new Date().toLocaleTimeString()}] change detected`);
      void once(root, quiet);
    }, 150);
  };
  for (const dir of dirs) watch(dir, { recursive: true }, rerun);
  console.log(`watching ${dirs.join(', ')} (Ctrl-C to stop)`); // once it does
  return new Promise(() => {});
}
