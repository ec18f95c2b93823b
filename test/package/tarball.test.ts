// What `npm pack` ships: the compiled toolkit with its type declarations, the runtime, the
// templates and the schemas; no tests, no TypeScript sources, no CI files; a package.json whose
// bin, exports and types name files that are in it, and whose dependencies hold every package
// the compiled code imports.
import { builtinModules } from 'node:module';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRoot, removeRoot } from '../generator/support.ts';
import { exec, pack, tarballFiles } from './support.ts';

let tarball: string;
let files: string[];
let unpacked: string;
let pkg: { private?: boolean; bin: Record<string, string>; exports: Record<string, unknown>; types: string; files: string[]; dependencies: Record<string, string>; devDependencies: Record<string, string> };

beforeAll(async () => {
  tarball = await pack();
  files = await tarballFiles(tarball);
  unpacked = makeRoot('unpacked');
  mkdirSync(unpacked, { recursive: true });
  await exec('tar', ['-xzf', tarball, '-C', unpacked], unpacked);
  pkg = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8'));
}, 300_000);

afterAll(() => {
  removeRoot(unpacked);
  removeRoot(tarball && join(tarball, '..'));
});

describe('the packed tarball', () => {
  it('holds the compiled toolkit with declarations, the runtime, the templates and both schemas', () => {
    for (const f of [
      'package.json',
      'README.md',
      'generator/bin/wirestate.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/pipeline.d.ts',
      'dist/spec/schema.validate.cjs',
      'dist/config/config.schema.json',
      'dist/trace/format.mjs',
      'dist/trace/format.d.mts',
      'dist/sim/worker.mjs',
      'dist/sim/board/socket.py',
      'dist/demo/hello.py',
      'dist/explorer/explorer.css',
      'spec/wirestate.schema.json',
      'templates/micropython/machine.py.hbs',
      'runtime-esp8266/fsm.py',
      'runtime-esp8266/fsmtrace.py',
      'runtime-esp8266/uwebsockets/client.py',
    ]) expect(files).toContain(f);
    for (const js of files.filter((f) => f.startsWith('dist/') && f.endsWith('.js'))) expect(files).toContain(js.replace(/\.js$/, '.d.ts'));
  });

  it('ships no tests, sources, CI files, caches or this repository\'s own specs and generated files', () => {
    const unwanted = files.filter((f) => /^(test|\.ci|generated|node_modules|\.cache)\//.test(f) || /^generator\/(?!bin\/wirestate\.mjs$)/.test(f) || /__pycache__|\.tmp$|\.tsbuildinfo$/.test(f) || /^spec\/.*\.ya?ml$/.test(f));
    expect(unwanted).toEqual([]);
  });

  it('has a package.json to depend on: not private, its bin, exports and types in the tarball', () => {
    expect(pkg.private).toBeUndefined();
    expect(files).toContain(pkg.bin.wirestate);
    expect(files).toContain(pkg.types.replace(/^\.\//, ''));
    const values = (v: unknown): string[] => (typeof v === 'string' ? [v] : Object.values(v as object).flatMap(values));
    const targets = values(pkg.exports).map((t) => t.replace(/^\.\//, ''));
    expect(targets.length).toBeGreaterThan(3);
    for (const t of targets) expect(files).toContain(t);
  });

  it('depends on every package the compiled code imports; test servers and build tools are development dependencies', () => {
    // Imported only by the repository's own demo and benchmark, which need its development install.
    const devOnly = new Map([['socket.io', /^dist\/(demo|bench)\//]]);
    const missing: string[] = [];
    for (const f of files.filter((x) => x.startsWith('dist/') && /\.(m?js|cjs)$/.test(x))) {
      const text = readFileSync(join(unpacked, 'package', f), 'utf8');
      const code = text.split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
      const specifiers = [...code.matchAll(/(?:^\s*(?:import|export)\b[^'"\n]*\bfrom\s*|^\s*import\s*|\bimport\(|\brequire\()['"]([^'"\n]+)['"]/gm)].map((m) => m[1]!);
      for (const s of specifiers) {
        if (s.startsWith('.') || s.startsWith('node:') || builtinModules.includes(s)) continue;
        const name = s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!;
        if (pkg.dependencies[name]) continue;
        if (devOnly.get(name)?.test(f)) continue;
        missing.push(`${f} imports ${s}`);
      }
    }
    expect(missing).toEqual([]);
    for (const dev of ['socket.io', 'tsx', 'typescript', 'vitest', 'playwright-core']) expect(pkg.dependencies[dev], dev).toBeUndefined();
  });
});
