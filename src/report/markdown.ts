// Text from a run (labels, errors, reasons, titles) placed into Markdown that GitHub renders:
// nothing in it may open HTML or end a table cell.

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Plain text in a table cell or list item: one line, no raw HTML, no pipe ending the cell. */
export function tableCell(text: string): string {
  return escapeHtml(oneLine(text)).replace(/\|/g, '\\|');
}

/** The longest run of `char` in `text`. */
export function longestRun(text: string, char: string): number {
  let longest = 0;
  let current = 0;
  for (const c of text) {
    current = c === char ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

/** A backtick fence (three at least) that no run of backticks inside `text` can close. */
export function codeFence(text: string): string {
  return '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
}
