// Code spans and fences must be longer than any backtick run inside them, or the text closes them.
// Both the plain Markdown helpers and the inert-Markdown scan need that count; it lives here so
// neither imports the other.

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

/** Inline code that survives backticks in the text and, in a table, pipes. */
export function inlineCode(text: string, inTable = false): string {
  const ticks = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  const inner = inTable ? text.replace(/\|/g, '\\|') : text;
  return `${ticks}${pad}${inner}${pad}${ticks}`;
}
