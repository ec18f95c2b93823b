import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectAndUserFiles } from '../../deploy/files.ts';
import { MPY_VERSION, deployFormat, precompile } from '../../deploy/mpy.ts';
import { choosePackages } from '../../deploy/packages.ts';
import { RawRepl } from '../../deploy/rawrepl.ts';
import { probe, sync, type BoardFile, type SyncReport } from '../../deploy/sync.ts';
import { RESET_DETAILS, TARGET_DETAILS, TARGET_OPTIONS, openTarget, targetOptions } from '../../deploy/target.ts';
import { EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const deploy: Command = {
  name: 'deploy',
  summary: SUMMARIES.deploy,
  usage: 'deploy [--port PATH | --webrepl URL | --sim] [--main FILE] [--app FILE]... [--only PACKAGE... | --no-runtime] [--py | --mpy] [--force] [--dry-run] [--prune]',
  options: {
    ...TARGET_OPTIONS,
    main: { type: 'string', description: 'your main.py, copied to /main.py' },
    app: { type: 'string', multiple: true, description: 'another file of yours, copied to / (repeat for more)' },
    only: { type: 'string', multiple: true, description: 'deploy only this package of /lib and what it imports, e.g. uwebsockets (repeat for more)' },
    'no-runtime': { type: 'boolean', description: 'deploy only your files: the runtime is frozen into the firmware (wirestate freeze)' },
    py: { type: 'boolean', description: 'send the modules as source (.py), not precompiled' },
    mpy: { type: 'boolean', description: 'precompile to .mpy, and fail if the board cannot load them (the default precompiles when it can)' },
    force: { type: 'boolean', description: 'copy files even when the board already has them' },
    'dry-run': { type: 'boolean', description: 'write nothing; list what would change' },
    prune: { type: 'boolean', description: 'remove files an earlier deploy put there that are no longer deployed' },
    'no-deflate': { type: 'boolean', description: 'never deflate files on the way (they still travel as base64)' },
  },
  details: [
    'Deploys the .py modules of the runtime folder (keeping its packages) and the generated micropython/',
    "folder to /lib (runtime-esp8266/ and generated/ unless wirestate.config.json says otherwise), and",
    "fsm.py and fsmtrace.py from wirestate's own runtime when the runtime folder has none.",
    `Modules are precompiled to .mpy when the board loads .mpy version ${MPY_VERSION} (MicroPython 1.19 and later);`,
    'main.py and boot.py stay source. A .py next to a deployed .mpy is removed (it would be imported instead).',
    'With --only, or else with --main/--app, only the packages named (or that your files import) go, with',
    'every package they import in turn.',
    'A file whose sha256 on the board matches is skipped. Each file is written to a temporary name and',
    'put in place once the board has checked it, so an interrupted deploy leaves no truncated module.',
    '',
    TARGET_DETAILS,
    RESET_DETAILS,
    '',
    'Exit status: 0 deployed, 1 a problem with the board, the link or a file, 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.py && values.mpy) throw new UsageError('--py and --mpy do not go together');
    if (values['no-runtime'] && values.only) throw new UsageError('--no-runtime and --only do not go together');
    if (values['no-runtime'] && values.main === undefined && values.app === undefined) throw new UsageError('--no-runtime: nothing to deploy without --main or --app');
    const root = resolve((values.root as string | undefined) ?? '.');
    const { files, said } = hostFiles(root, values.main as string | undefined, (values.app as string[] | undefined) ?? [], values.only as string[] | undefined, !values['no-runtime']);
    const opts = targetOptions(values, root);
    const started = performance.now();
    const target = await openTarget(opts);
    const progress = new Progress();
    let report: SyncReport;
    try {
      console.log(`deploying to ${target.name}`);
      for (const line of said) console.log(`  ${line}`);
      const repl = new RawRepl(target.link, opts.timeoutMs);
      await repl.enter(target.canSoftReset && opts.softReset);
      const info = await probe(repl);
      const format = deployFormat({ py: Boolean(values.py), mpy: Boolean(values.mpy) }, info.mpy);
      if (format.note) console.log(`  ${format.note}`);
      const deployed = format.mpy ? await precompile(files, join(root, '.cache', 'mpy')) : files;
      report = await sync(repl, info, deployed, {
        force: Boolean(values.force),
        dryRun: Boolean(values['dry-run']),
        prune: Boolean(values.prune),
        noDeflate: Boolean(values['no-deflate']),
        onProgress: (path, done, total) => progress.update(path, done, total),
      });
      await repl.leave();
    } catch (e) {
      progress.abort();
      await target.close().catch(() => {});
      throw e;
    }
    await target.close();
    const seconds = (performance.now() - started) / 1000;
    summarize(report, target.link.stats.sent, seconds);
    return EXIT_OK;
  },
};

/**
 * What a deploy sends: the project's runtime and generated modules (the packages chosen with
 * `only`, or else those the user's files import, with what they import; none without
 * `withRuntime`), and the user's files; and what to tell the user about the choice.
 */
function hostFiles(root: string, main: string | undefined, apps: string[], only: string[] | undefined, withRuntime: boolean): { files: BoardFile[]; said: string[] } {
  const { runtime, user } = projectAndUserFiles(root, main, apps);
  if (!withRuntime) return { files: user, said: ['only your files: the runtime is frozen into the firmware'] };
  const { files, said } = choosePackages(runtime, user, only);
  return { files: [...files, ...user], said };
}

const kb = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KB`);

/** A bar per file while it is written (on a terminal), a line per file once written. */
class Progress {
  private readonly live = Boolean(process.stderr.isTTY);
  private shown = false;

  update(path: string, done: number, total: number): void {
    if (done === total) {
      this.clear();
      console.log(`  copied ${path} (${kb(total)})`);
    } else if (this.live) {
      const width = 24;
      const filled = total ? Math.round((done / total) * width) : 0;
      process.stderr.write(`\r  ${path} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${kb(done)} of ${kb(total)}\x1b[K`);
      this.shown = true;
    }
  }

  abort(): void {
    this.clear();
  }

  private clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K');
    this.shown = false;
  }
}

function summarize(r: SyncReport, sent: number, seconds: number): void {
  const would = r.dryRun ? 'would be ' : '';
  if (r.dryRun) for (const c of r.copied) console.log(`  would copy ${c.path} (${c.why}, ${kb(c.bytes)})`);
  for (const x of r.removed) console.log(`  ${r.dryRun ? 'would remove' : 'removed'} ${x.path} (${x.why})`);
  for (const o of r.orphans) console.log(`  no longer deployed: ${o} (kept; --prune removes it)`);
  const bytes = r.copied.reduce((n, c) => n + c.bytes, 0);
  const parts = [`${r.copied.length} ${would}copied`, `${r.unchanged.length} unchanged`];
  if (r.removed.length) parts.push(`${r.removed.length} ${would}removed`);
  const traffic = r.dryRun || !bytes ? `${kb(sent)} sent` : `${kb(bytes)} of files, ${kb(sent)} sent (${(sent / bytes).toFixed(2)} per byte of file)`;
  console.log(`${r.copied.length + r.unchanged.length} files: ${parts.join(', ')}; ${traffic}; ${seconds.toFixed(2)} s${r.dryRun ? ' (dry run: nothing written)' : ''}`);
}
