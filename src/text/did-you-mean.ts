// "Did you mean …?" for a name that is not known: a mistyped config key, an undeclared variable.
// src/text holds plain string helpers that import nothing of Foreman's, so the lowest layers
// (config, workflows) can word their errors without importing a layer above them.

const MAX_WORD_LENGTH = 64;

/**
 * The candidate nearest to `word`, if it is close enough to be a typo of it: letters compared
 * without case, a swap of two neighbours counting as one edit. Short words must be closer, so
 * that `x` does not suggest `y`. Names are hostile input: a comparison costs the product of the
 * two lengths, so words longer than anyone types by hand get no suggestion.
 */
export function nearestName(word: string, candidates: Iterable<string>): string | null {
  if (word.length > MAX_WORD_LENGTH) return null;
  const allowed = word.length <= 2 ? 0 : word.length <= 5 ? 1 : 2;
  const lower = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    if (candidate === word || Math.abs(candidate.length - word.length) > allowed) continue;
    // A case-only difference ranks just below a real match and above any other edit.
    const distance = editDistance(lower, candidate.toLowerCase(), allowed) + (candidate.toLowerCase() === lower ? 0.5 : 0);
    if (distance <= Math.max(allowed, 0.5) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance, or limit + 1 as soon as it must exceed `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (a === b) return 0;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMinimum = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, beforePrevious[j - 2] + 1);
      current[j] = value;
      rowMinimum = Math.min(rowMinimum, value);
    }
    if (rowMinimum > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length];
}

/** A name as a message shows it: quoted, escaped, and cut short, since names are hostile input too. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}
