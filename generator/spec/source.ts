// A parsed spec file: the YAML document with positions, so every later error can say file:line:col.
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, type Document, type Node, type Pair } from 'yaml';
import type { Pos } from '../ir/model.ts';
import type { Diagnostic } from './diagnostics.ts';

export interface SpecSource {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The plain data, for schema validation. */
  data: unknown;
}

/**
 * Parses a spec file. A file may hold several machines that belong together (say, a protocol
 * and its heartbeat) as YAML documents separated by `---`; each becomes a source.
 */
export function parseSpec(file: string, text: string): { sources: SpecSource[]; diagnostics: Diagnostic[] } {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const all = Array.isArray(docs) ? docs : [docs];
  const diagnostics: Diagnostic[] = all.flatMap((doc) =>
    doc.errors.map((e) => {
      const { line, col } = lines.linePos(e.pos[0]);
      const message = e.code === 'DUPLICATE_KEY' ? 'duplicate name: keys in a mapping must be unique' : firstLine(e.message);
      return { file, line, col, message };
    }),
  );
  if (diagnostics.length > 0) return { sources: [], diagnostics };
  return { sources: all.map((doc) => ({ file, doc: doc as Document.Parsed, lines, data: doc.toJS() })), diagnostics };
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export function posAt(source: SpecSource, node: Node | Pair | null | undefined): Pos {
  const offset = rangeStart(node) ?? 0;
  const { line, col } = source.lines.linePos(offset);
  return { file: source.file, line, col };
}

function rangeStart(node: Node | Pair | null | undefined): number | undefined {
  if (!node) return undefined;
  if (isPair(node)) return rangeStart(node.key as Node) ?? rangeStart(node.value as Node);
  return node.range?.[0];
}

/**
 * The node at a JSON-pointer-like path (as Ajv reports it). With `key`, the key of the last
 * segment instead of its value. Falls back to the deepest node that exists.
 */
export function nodeAt(source: SpecSource, path: (string | number)[], key = false): Node | null {
  let node: Node | null = source.doc.contents;
  for (let i = 0; i < path.length && node; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return node;
      if (last && key) return pair.key as Node;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
}

/** Entries of a YAML mapping node as [key node, value node, key text]. */
export function entries(node: Node | null | undefined): [Node, Node | null, string][] {
  if (!isMap(node)) return [];
  return node.items.map((p) => [p.key as Node, (p.value as Node | null) ?? null, String(isScalar(p.key) ? p.key.value : '')]);
}

export function child(node: Node | null | undefined, name: string): Node | null {
  if (!isMap(node)) return null;
  const pair = node.items.find((p) => isScalar(p.key) && p.key.value === name);
  return (pair?.value as Node | null | undefined) ?? null;
}

export function items(node: Node | null | undefined): Node[] {
  if (isSeq(node)) return node.items as Node[];
  return node ? [node] : [];
}

export function text(node: Node | null | undefined): string | undefined {
  return isScalar(node) && node.value !== null ? String(node.value) : undefined;
}

export { isMap, isSeq, isScalar };
