// The lines of a text stream with each line cut to a few thousand characters AS IT IS READ:
// readline builds every line whole before handing it over, so a one-line file of hundreds of
// megabytes (minified code, a data dump) would be held in memory at once.

export interface CappedLine {
  /** The line's first `keep` characters, without its line break. */
  text: string;
  /** The line was longer than `keep`. */
  cut: boolean;
}

/**
 * Splits on `\n`, `\r\n` and a lone `\r`, as readline does with `crlfDelay: Infinity`; a last line
 * without a line break counts, an empty one after the final break does not.
 */
export async function* cappedLines(chunks: AsyncIterable<string>, keep: number): AsyncGenerator<CappedLine> {
  let text = '';
  let cut = false;
  let open = false;
  let afterCarriageReturn = false;
  const take = (piece: string): void => {
    if (piece.length === 0) return;
    open = true;
    const room = keep - text.length;
    if (piece.length > room) cut = true;
    if (room > 0) text += piece.slice(0, room);
  };
  for await (const chunk of chunks) {
    let from = afterCarriageReturn && chunk.startsWith('\n') ? 1 : 0;
    afterCarriageReturn = false;
    const breaks = /\r\n|\r|\n/g;
    breaks.lastIndex = from;
    for (let found = breaks.exec(chunk); found; found = breaks.exec(chunk)) {
      take(chunk.slice(from, found.index));
      yield { text, cut };
      text = '';
      cut = false;
      open = false;
      from = breaks.lastIndex;
      // A chunk may end between the \r and the \n of one line break.
      if (found[0] === '\r' && from === chunk.length) afterCarriageReturn = true;
    }
    take(chunk.slice(from));
  }
  if (open) yield { text, cut };
}
