#!/usr/bin/env node
// Builds what the package ships (npm run build; npm pack runs it first): the toolkit compiled to
// dist/ (JavaScript and type declarations, the same folder layout as generator/), and the
// toolkit's other files copied beside them (.mjs modules and their declarations, the simulated
// board's Python, the demo scripts, the explorer's stylesheet, the config schema), and the spec
// schema's validator compiled ahead of time.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'generator');
const out = join(root, 'dist');

rmSync(out, { recursive: true, force: true });
const r = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('build: tsc failed');
  process.exit(1);
}
let copied = 0;
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  const from = join(entry.parentPath, entry.name);
  const rel = from.slice(src.length + 1);
  if (!entry.isFile() || (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.mts')) || rel.startsWith('bin')) continue;
  cpSync(from, join(out, rel));
  copied++;
}
const { PRECOMPILED, validatorModule } = await import(new URL('../../dist/spec/schema.js', import.meta.url).href);
writeFileSync(join(out, 'spec', PRECOMPILED), await validatorModule());
console.log(`build: dist/ compiled, ${copied} other files copied, the spec schema's validator precompiled`);
