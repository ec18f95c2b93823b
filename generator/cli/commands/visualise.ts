import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { build, writeOutputs } from '../../pipeline.ts';
import { SpecError } from '../../spec/diagnostics.ts';
import { EXIT_FAILURE, EXIT_OK, UsageError, type Command } from '../command.ts';
import { SUMMARIES } from '../summaries.ts';

export const visualise: Command = {
  name: 'visualise',
  summary: SUMMARIES.visualise,
  usage: 'visualise [--html FILE] [--root DIR]',
  options: {
    html: { type: 'string', description: 'also write the explorer, one self-contained HTML file, to FILE' },
    root: { type: 'string', description: 'project root (default: the current directory)' },
  },
  details: [
    `The diagrams are generated files: \`generate\` writes them too and \`generate --check\` checks them.`,
    'The explorer needs no network: open it in a browser, click a state to list its transitions,',
    'search, and load a trace file (`sim run --trace`, or fsmtrace on a device) to replay it.',
    'Exit status: 0 success, 1 invalid spec, 2 bad command line.',
  ].join('\n'),
  async run({ values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const root = resolve((values.root as string | undefined) ?? '.');
    const t0 = performance.now();
    let result;
    try {
      result = await build(root);
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      console.error(e.message);
      return EXIT_FAILURE;
    }
    const diagramsDir = result.layout.diagrams;
    const diagrams = new Map([...result.outputs].filter(([path]) => path.startsWith(`${diagramsDir}/`)));
    const s = writeOutputs(root, diagrams, [diagramsDir]);
    for (const p of [...s.missing, ...s.changed]) console.log(`  wrote   ${p}`);
    for (const p of s.orphaned) console.log(`  removed ${p}`);
    console.log(`${diagrams.size} diagram files for ${result.machines.length} machine${result.machines.length === 1 ? '' : 's'} in ${(performance.now() - t0).toFixed(0)} ms`);
    const html = values.html as string | undefined;
    if (html !== undefined) {
      const { explorerHtml } = await import('../../explorer/explorer.ts');
      const page = explorerHtml(result);
      writeFileSync(html, page);
      console.log(`explorer: ${html} (${(Buffer.byteLength(page) / 1024).toFixed(0)} KB)`);
    }
    return EXIT_OK;
  },
};
