// Findings that point into a spec: `file:line:col: error: message`, the form editors and
// terminals link. An error stops generation; a warning (an unused declaration, a missing doc: a
// sketch's loose ends) is printed and generation goes on, unless --strict makes it an error.
import type { Pos } from '../ir/model.ts';

export interface Diagnostic extends Pos {
  message: string;
  /** Absent: an error. */
  severity?: 'warning';
}

export const isWarning = (d: Diagnostic): boolean => d.severity === 'warning';

export function warning(pos: Pos, message: string): Diagnostic {
  return { ...pos, message, severity: 'warning' };
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.severity ?? 'error'}: ${d.message}`;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}

/** Thrown when one or more specs are invalid; carries every diagnostic found, sorted. */
export class SpecError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    super(sorted.map(formatDiagnostic).join('\n'));
    this.diagnostics = sorted;
  }
}
