// A content-addressed cache of the two slow backends' output (the XState module, printed with
// ts-morph, and the SVG, laid out by Graphviz in WebAssembly), so that `generate` and
// `generate --check` on unchanged specs load neither. An entry's key hashes its whole input
// and the toolkit that renders it: the backends' and the IR's sources, the toolkit's version and
// the versions of ts-morph and Graphviz. Output is deterministic, so a hit is what a miss would
// render. Kept in <root>/node_modules/.cache/wirestate (where build tools keep theirs); a
// project without node_modules gets no cache.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { version } from './version.ts';

let toolkit: string | undefined;

/** What every entry's key includes: the sources that render, and the versions of what they use. */
function toolkitFingerprint(): string {
  if (toolkit !== undefined) return toolkit;
  const h = createHash('sha256').update(version);
  for (const dir of ['./backends/', './ir/']) {
    const full = fileURLToPath(new URL(dir, import.meta.url));
    if (!existsSync(full)) continue;
    for (const f of readdirSync(full).sort()) h.update(f).update(readFileSync(join(full, f)));
  }
  for (const dep of ['ts-morph', '@hpcc-js/wasm-graphviz']) h.update(dep).update(dependencyVersion(dep));
  return (toolkit = h.digest('hex'));
}

function dependencyVersion(name: string): string {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    while (basename(dir) !== basename(name) && dirname(dir) !== dir) dir = dirname(dir);
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

export class RenderCache {
  private readonly dir: string | null;

  constructor(root: string) {
    const modules = join(root, 'node_modules');
    this.dir = existsSync(modules) ? join(modules, '.cache', 'wirestate') : null;
  }

  /** The cached rendering of `input` by `kind`, or `render(input)` (then cached). */
  async get(kind: string, input: string, render: () => Promise<string> | string): Promise<string> {
    if (!this.dir) return render();
    const key = createHash('sha256').update(toolkitFingerprint()).update(kind).update('\0').update(input).digest('hex');
    const file = join(this.dir, `${kind}-${key}`);
    if (existsSync(file)) return readFileSync(file, 'utf8');
    const out = await render();
    try {
      mkdirSync(this.dir, { recursive: true });
      const temp = `${file}.${process.pid}.tmp`;
      writeFileSync(temp, out);
      renameSync(temp, file);
    } catch {
      // A read-only node_modules only costs the next run the rendering.
    }
    return out;
  }
}
