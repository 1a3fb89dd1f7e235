// A script's meta.name read from the start of its file, without validating the script: how saved
// workflows are found by name (Claude Code names a saved workflow by its meta.name). The script
// that is then run goes through the full validation.
import { parseExpressionAt } from 'acorn';
import type { Expression } from 'acorn';

const META_START = /export\s+const\s+meta\s*=\s*/;

/** The string meta.name of `head` (a script, or its first bytes), or null when there is none to read. */
export function metaNameOf(head: string): string | null {
  const found = META_START.exec(head);
  if (!found) return null;
  let object: Expression;
  try {
    object = parseExpressionAt(head, found.index + found[0].length, { ecmaVersion: 'latest' });
  } catch {
    // Cut off by the bytes read, or not a literal: the file still runs by its file name.
    return null;
  }
  if (object.type !== 'ObjectExpression') return null;
  for (const property of object.properties) {
    if (property.type !== 'Property' || property.computed) continue;
    const key = property.key.type === 'Identifier' ? property.key.name : property.key.type === 'Literal' ? String(property.key.value) : null;
    if (key !== 'name') continue;
    const value = property.value;
    if (value.type === 'Literal' && typeof value.value === 'string') return value.value;
    if (value.type === 'TemplateLiteral' && value.expressions.length === 0) return value.quasis[0]?.value.cooked ?? null;
    return null;
  }
  return null;
}
