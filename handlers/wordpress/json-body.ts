/**
 * Bytes of an array's items parsed by one JSON.parse. A string of more than about half a megabyte
 * goes to V8's large-object space, and making one costs far more than its bytes: a 608 KB page of
 * the real WordPress decoded in 1.85 ms as one string and in 0.03 ms as 64 KB pieces.
 */
const PIECE_BYTES = 48 << 10;

/**
 * The items of the JSON array in `bytes` (UTF-8, after a byte-order mark if any), parsed a piece
 * at a time; undefined when `bytes` is not an array or not valid JSON, for the caller to parse
 * whole (which also words the error).
 *
 * The array is cut at top-level commas found by skipping strings (their quotes found by indexOf,
 * an escaped quote by the backslashes before it) and counting brackets between them. Each piece is
 * parsed as `[...]`: a cut that is not an item boundary, an empty item or anything else that is
 * not JSON makes a piece fail, so a result is only ever what JSON.parse of the whole would give.
 */
export function parseJsonArrayInPieces(bytes: Buffer, pieceBytes = PIECE_BYTES): unknown[] | undefined {
  const end = bytes.length;
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let at = skipSpace(bytes, bom, end);
  if (bytes[at] !== 0x5b) return undefined;
  const items: unknown[] = [];
  const first = at + 1;
  // A piece next to a cut must hold an item: `[1, ]` and `[ ,1]` are not JSON, `[ ]` alone is.
  const piece = (from: number, to: number, last: boolean) => {
    let parsed: unknown[];
    try {
      parsed = JSON.parse(`[${bytes.toString('utf8', from, to)}]`) as unknown[];
    } catch {
      return false;
    }
    if (parsed.length === 0 && !(last && from === first)) return false;
    for (const item of parsed) items.push(item);
    return true;
  };
  let from = ++at;
  let depth = 0;
  while (at < end) {
    const c = bytes[at];
    if (c === 0x22) {
      let quote = at;
      for (;;) {
        quote = bytes.indexOf(0x22, quote + 1);
        if (quote < 0) return undefined;
        let slash = quote - 1;
        while (bytes[slash] === 0x5c) slash--;
        if ((quote - 1 - slash) % 2 === 0) break;
      }
      at = quote + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return c === 0x5d && piece(from, at, true) && skipSpace(bytes, at + 1, end) === end ? items : undefined;
      depth--;
    } else if (c === 0x2c && depth === 0 && at - from >= pieceBytes) {
      if (!piece(from, at, false)) return undefined;
      from = at + 1;
    }
    at++;
  }
  return undefined;
}

/** The first byte from `from` that is not JSON whitespace. */
function skipSpace(bytes: Buffer, from: number, end: number): number {
  let at = from;
  while (at < end && (bytes[at] === 0x20 || bytes[at] === 0x0a || bytes[at] === 0x0d || bytes[at] === 0x09)) at++;
  return at;
}
