// The `wirestate` command line: help, version and usage errors. Most cases call main() in
// process with console output captured (fast); a few run the real bin script to check that
// its exit status and output are main()'s.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCommands } from '../../generator/cli/main.ts';
import { cli as run, makeRoot, removeRoot, repoRoot, runCli, writeTree } from './support.ts';

const commands = await loadCommands();
const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version as string;

describe('help', () => {
  it.each([['--help'], ['-h'], ['help']])('`wirestate %s` prints the usage and every command, exit 0', async (flag) => {
    const { code, stdout, stderr } = await run(flag);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^Usage: wirestate <command> \[options\]/);
    for (const c of commands) expect(stdout).toContain(`  ${c.name.padEnd(12)} ${c.summary}`);
  });

  it('knows at least the generate command', () => {
    expect(commands.map((c) => c.name)).toContain('generate');
  });

  describe.each(commands.map((c) => [c.name, c] as const))('`wirestate %s`', (name, command) => {
    it.each([['--help'], ['-h']])('%s prints its usage and every option, exit 0', async (flag) => {
      const { code, stdout, stderr } = await run(name, flag);
      expect(code).toBe(0);
      expect(stderr).toBe('');
      expect(stdout).toMatch(new RegExp(`^Usage: wirestate ${name}\\b`));
      expect(stdout).toContain(command.summary);
      for (const option of [...Object.keys(command.options), 'help']) expect(stdout).toContain(`--${option}`);
    });

    it('rejects an unknown option with exit 2 and its usage', async () => {
      const { code, stdout, stderr } = await run(name, '--no-such-option');
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(`wirestate ${name}: Unknown option '--no-such-option'`);
      expect(stderr).toContain(`Usage: wirestate ${name}`);
    });
  });
});

describe('usage errors', () => {
  it('no command prints the usage, exit 2', async () => {
    const { code, stdout, stderr } = await run();
    expect(code).toBe(2);
    expect(stdout + stderr).toMatch(/Usage: wirestate <command> \[options\]/);
  });

  it('an unknown command, exit 2', async () => {
    const { code, stdout, stderr } = await run('frobnicate');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^wirestate: unknown command 'frobnicate'\n\nUsage: wirestate <command>/);
  });

  it('an unknown top-level option is an unknown command, exit 2', async () => {
    const { code, stderr } = await run('--frobnicate');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown command '--frobnicate'");
  });

  it('`generate --check --watch`, exit 2', async () => {
    const { code, stdout, stderr } = await run('generate', '--check', '--watch');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^wirestate generate: --check and --watch do not go together\n\nUsage: wirestate generate/);
  });

  it('`generate` with a stray argument, exit 2', async () => {
    const { code, stderr } = await run('generate', 'spec/websocket.yaml');
    expect(code).toBe(2);
    expect(stderr).toContain("wirestate generate: unexpected argument 'spec/websocket.yaml'");
  });

  it('`generate --root` without a value, exit 2', async () => {
    const { code, stderr } = await run('generate', '--root');
    expect(code).toBe(2);
    expect(stderr).toContain("Option '--root <value>' argument missing");
  });
});

describe('errors no command reports itself', () => {
  let root: string | undefined;
  afterEach(() => removeRoot(root));

  it('are one line without a stack trace, exit 1; --debug, anywhere on the line, adds the stack', async () => {
    root = makeRoot('cli-error');
    writeTree(root, { 'wirestate.config.json': '{"spec": 3}' });
    const plain = await run('generate', '--check', '--root', root);
    expect(plain).toEqual({ code: 1, stdout: '', stderr: 'wirestate generate: wirestate.config.json: "spec" must be a folder name (a non-empty string)\n' });
    for (const argv of [['--debug', 'generate', '--check', '--root', root], ['generate', '--check', '--debug', '--root', root]]) {
      const debug = await run(...argv);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^wirestate generate: ConfigError: wirestate\.config\.json: "spec" must be a folder name \(a non-empty string\)\n\s+at /);
    }
  });

  it('one that is not the user\'s to fix says how to see its stack', async () => {
    root = makeRoot('cli-error');
    // A trace file that is a folder: reading it fails inside the command.
    writeTree(root, { 'folder.wst/x': '' });
    const r = await run('trace', 'decode', join(root, 'folder.wst'), '--root', root);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^wirestate trace: EISDIR: illegal operation on a directory, read\n\(run again with --debug for the stack trace\)\n$/);
  });
});

describe('version', () => {
  it.each([['--version'], ['-v']])("`wirestate %s` prints package.json's version", async (flag) => {
    const { code, stdout, stderr } = await run(flag);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toBe(`${version}\n`);
  });
});

describe.concurrent('the bin script', () => {
  it('exits with what main() returns: 0 for --version', async ({ expect }) => {
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('exits 2 without a command, printing the usage', async ({ expect }) => {
    const { code, stdout, stderr } = await runCli([]);
    expect(code).toBe(2);
    expect(stdout + stderr).toContain('Usage: wirestate <command> [options]');
  });

  it('exits 2 for an unknown option of a command, and 0 for its --help', async ({ expect }) => {
    const [bad, help] = await Promise.all([runCli(['generate', '--bogus']), runCli(['generate', '--help'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Unknown option '--bogus'");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: wirestate generate /);
  });
});
