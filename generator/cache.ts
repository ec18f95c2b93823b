// A content-addressed cache of the backends' output (the XState module, printed with ts-morph;
// the SVG, laid out by Graphviz in WebAssembly; the MicroPython tables, through Handlebars), so
// that `generate` and `generate --check` on unchanged specs load none of them. An entry's key
// hashes its whole input and the toolkit that renders it: the backends', the IR's and the
// templates' sources, the toolkit's version and the versions of ts-morph and Graphviz. Output is deterministic, so a hit is what a miss would
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
  for (const dir of ['./backends/', './ir/', '../templates/micropython/']) {
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

  /** The cached rendering of `input` by `kind`, or `render()` (then cached). */
  async get(kind: string, input: unknown, render: () => Promise<string> | string): Promise<string> {
    if (!this.dir) return render();
    const key = createHash('sha256').update(toolkitFingerprint()).update(kind).update('\0').update(serialize(input)).digest('hex');
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

/** JSON that keeps what JSON.stringify drops: a Map's or Set's entries, a byte array's bytes. */
function serialize(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return { Map: [...v] };
    if (v instanceof Set) return { Set: [...v] };
    if (ArrayBuffer.isView(v)) return { bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
    if (v === undefined || typeof v === 'function' || typeof v === 'bigint') return String(v);
    return v;
  });
}
