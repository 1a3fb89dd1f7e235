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
