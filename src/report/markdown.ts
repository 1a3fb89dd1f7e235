// Text from a run (labels, errors, reasons, titles) placed into Markdown that GitHub renders:
// nothing in it may open HTML, an image or a link (inert-markdown.ts), or end a table cell.
import { longestRun } from './backtick-runs.ts';
import { inertMarkdown } from './inert-markdown.ts';

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Script or model text inside HTML that GitHub renders (the Action's job summary): escaped, and on
 * one line, since a blank line would end the HTML block and let the rest render as Markdown.
 */
export function htmlText(text: string): string {
  return escapeHtml(oneLine(text));
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Script or model text in a table cell or list item: one line, inert, no pipe ending the cell. */
export function tableCell(text: string): string {
  return inertMarkdown(oneLine(text), { inline: true }).replace(/\|/g, '\\|');
}

export { inlineCode } from './backtick-runs.ts';

/**
 * At most `max` characters of Markdown, cut after a whole line: a line of a table or of inert
 * text (whose code spans never cross a line) is whole or gone, never cut inside a construct.
 */
export function cutAtLine(text: string, max: number): string {
  if (text.length <= max) return text;
  const newline = text.lastIndexOf('\n', max);
  return newline === -1 ? '' : text.slice(0, newline);
}

/** A backtick fence (three at least) that no run of backticks inside `text` can close. */
export function codeFence(text: string): string {
  return '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
}
