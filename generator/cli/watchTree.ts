// Watching folders for `generate --watch` in a way that survives editors' atomic saves (write a
// temporary file, rename it over the original) and renames. Node's recursive watch on Linux
// watches each file it found, so it loses a file once a rename replaces it; a watch on a folder
// sees every entry created, changed, renamed or removed in it. So: one plain watch per folder
// of each tree, and one on each tree's parent for the tree itself coming and going; the set of
// folders is brought up to date after every event.
import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Calls `onChange` on any change below `roots` (which may not exist yet); returns a stop function. */
export function watchTrees(roots: string[], onChange: () => void): () => void {
  const watchers = new Map<string, FSWatcher>();
  const add = (key: string, dir: string, listener: (file: string | null) => void) => {
    try {
      const w = watch(dir, (_, file) => listener(file === null ? null : String(file)));
      w.on('error', () => sync()); // the folder went away
      watchers.set(key, w);
    } catch {
      // gone between the listing and the watch: the next event's sync tries again
    }
  };
  const changed = () => {
    sync();
    onChange();
  };
  const sync = () => {
    const want = new Set<string>();
    for (const root of roots) {
      want.add(`parent:${dirname(root)}`);
      if (existsSync(root)) for (const d of folders(root)) want.add(d);
    }
    for (const [key, w] of watchers) {
      if (!want.has(key)) {
        w.close();
        watchers.delete(key);
      }
    }
    for (const key of want) {
      if (watchers.has(key)) continue;
      if (key.startsWith('parent:')) {
        const parent = key.slice('parent:'.length);
        const names = new Set(roots.filter((r) => dirname(r) === parent).map((r) => basename(r)));
        add(key, parent, (file) => {
          if (file === null || names.has(file)) changed();
        });
      } else {
        add(key, key, changed);
      }
    }
  };
  sync();
  return () => {
    for (const w of watchers.values()) w.close();
    watchers.clear();
  };
}

function folders(root: string): string[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const d of readdirSync(out[i]!, { withFileTypes: true })) if (d.isDirectory()) out.push(join(out[i]!, d.name));
    } catch {
      // removed while listing
    }
  }
  return out;
}
