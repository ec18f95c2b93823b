import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, compare, isFresh, writeOutputs, type Build } from '../../pipeline.ts';
import { SpecError, formatDiagnostic } from '../../spec/diagnostics.ts';
import { loadLayout } from '../../config/config.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { watchTrees } from '../watchTree.ts';
import { SUMMARIES } from '../summaries.ts';

export const generate: Command = {
  name: 'generate',
  summary: SUMMARIES.generate,
  usage: 'generate [--check | --watch] [--strict] [--fix] [--root DIR]',
  options: {
    check: { type: 'boolean', description: 'write nothing; exit 1 listing the files that are stale' },
    watch: { type: 'boolean', description: 'regenerate whenever a spec, template or runtime file changes' },
    root: { type: 'string', description: 'project root (default: the current directory)' },
    quiet: { type: 'boolean', short: 'q', description: 'print only errors and warnings' },
    strict: { type: 'boolean', description: 'treat warnings (unused declarations, missing docs, unreachable states) as errors' },
    fix: { type: 'boolean', description: "first rewrite the runtime's id constants (_A_..., _G_..., ...) to the spec's values, and nothing else" },
  },
  details: 'Exit status: 0 success (warnings are printed), 1 an error (with --strict, a warning too) or (with --check) stale output, 2 bad command line.',
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.check && values.watch) throw new UsageError('--check and --watch do not go together');
    if (values.check && values.fix) throw new UsageError('--check and --fix do not go together (--check writes nothing)');
    const root = resolve((values.root as string | undefined) ?? '.');
    const quiet = Boolean(values.quiet);
    const strict = Boolean(values.strict);
    if (values.fix) {
      const { fixIds } = await import('../../scaffold/fix.ts');
      const fixed = fixIds(root);
      if (fixed === null) return EXIT_FAILURE;
      if (!quiet) for (const f of fixed) console.log(`  fixed   ${f.file}: ${f.changes} id${f.changes === 1 ? '' : 's'}`);
    }
    if (values.check) return check(root, strict);
    const status = await once(root, quiet, strict);
    if (!values.watch) return status;
    return watchForever(root, quiet, strict);
  },
};

async function attempt(root: string, strict: boolean): Promise<{ result?: Build; ms: number; status: number }> {
  const t0 = performance.now();
  try {
    const result = await build(root, strict);
    for (const w of result.warnings) console.error(formatDiagnostic(w));
    if (result.warnings.length) console.error(`wirestate generate: ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'} (--strict makes them errors)`);
    return { result, ms: performance.now() - t0, status: EXIT_OK };
  } catch (e) {
    if (!(e instanceof SpecError)) throw e;
    console.error(e.message);
    console.error(`wirestate generate: ${e.diagnostics.length} error${e.diagnostics.length === 1 ? '' : 's'}; nothing was written`);
    return { ms: performance.now() - t0, status: EXIT_FAILURE };
  }
}

async function once(root: string, quiet: boolean, strict: boolean): Promise<number> {
  const { result, ms, status } = await attempt(root, strict);
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

async function check(root: string, strict: boolean): Promise<number> {
  const { result, status } = await attempt(root, strict);
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

function watchForever(root: string, quiet: boolean, strict: boolean): Promise<number> {
  // The specs and the runtime (the drift check reads it) are the project's; templates are the toolkit's.
  const layout = loadLayout(root);
  const dirs = [resolve(root, layout.spec), resolve(root, layout.runtime), fileURLToPath(new URL('../../../templates', import.meta.url))].filter((d) => existsSync(d));
  let timer: NodeJS.Timeout | undefined;
  const rerun = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      console.log(`\n[${new Date().toLocaleTimeString()}] change detected`);
      void once(root, quiet, strict);
    }, 150);
  };
  watchTrees(dirs, rerun);
  console.log(`watching ${dirs.join(', ')} (Ctrl-C to stop)`); // once it does
  return new Promise(() => {});
}
