// Small text helpers the backends and the explorer share.

/** Every run of whitespace (line breaks included) as one space, trimmed. */
export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Text for HTML element content: &, < and > escaped. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for a double-quoted HTML attribute value (or content): &, <, > and " escaped. */
export function escapeHtmlAttribute(s: string): string {
  return escapeHtml(s).replace(/"/g, '&quot;');
}
