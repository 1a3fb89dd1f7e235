// Comment text is written by whoever can comment on a public repository. Before any of it
// reaches a prompt (as args or as free text for a generated script), what a reader of the
// rendered comment cannot see is removed, so a maintainer who approves "/workflow audit auth"
// approves exactly what the model will read.

// Zero-width and formatting characters, bidirectional overrides and isolates, the byte-order
// mark, Unicode tag characters (used to smuggle ASCII past readers), and C0/C1 controls other
// than tab and line breaks.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF0-\uFFFB]|\uDB40[\uDC00-\uDC7F]|[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/** Text as a reader of the rendered comment sees it, minus the markup that hides things. */
export function sanitizeCommentText(text: string): string {
  return (
    text
      .normalize('NFKC')
      .replace(INVISIBLE, '')
      // HTML comments render as nothing; an unterminated one hides the rest of the comment.
      .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
      // Hidden elements and attributes that carry text a reader does not see.
      .replace(/<(details|picture|svg|style|script|template|noscript)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, '')
      .replace(/<(img|source)\b[^>]*>/gi, '')
      .replace(/<[^>]*\b(hidden|aria-hidden)\b[^>]*>[\s\S]*?<\/[^>]+>/gi, '')
      .replace(/<\/?[a-z][^>]*>/gi, '')
      // Markdown images render their alt text only to screen readers; link titles only on hover.
      .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
      .replace(/(\[[^\]]*\]\(\s*[^)\s]+)\s+(?:"[^"]*"|'[^']*')\s*\)/g, '$1)')
      // Reference-style link definitions never render.
      .replace(/^\s{0,3}\[[^\]]+\]:\s*\S+.*$/gm, '')
      .trim()
  );
}
