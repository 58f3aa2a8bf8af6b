/**
 * "Binary" strings: UTF-8 bytes held one byte per character (a latin1 decoding). The converter
 * parses raw JSON in this form because every step it saves is a pass over the bytes: decoding as
 * latin1 is a copy where UTF-8 decoding builds two-byte strings for any non-English text,
 * JSON.parse is faster on one-byte strings, parsed values take half the memory, and writing a
 * value back as UTF-8 bytes is again a copy instead of an encode.
 *
 * It is exact because JSON's structural characters are ASCII, which UTF-8 and latin1 spell
 * alike, and UTF-8 multi-byte sequences use only bytes >= 0x80, which JSON.parse and
 * JSON.stringify pass through untouched. The one thing that breaks it is a `\uXXXX` escape of a
 * code point >= 0x80: JSON.parse would turn it into one UTF-16 unit where the form needs its
 * UTF-8 bytes. Text holding such an escape is parsed as UTF-8 and converted with `toBinary`.
 */

/** True when the JSON bytes may hold a `\u` escape of a code point >= 0x80, which latin1 parsing would misread. */
export function hasWideEscape(bytes: Buffer): boolean {
  for (let at = bytes.indexOf('\\u'); at >= 0; at = bytes.indexOf('\\u', at + 2)) {
    // `\u0000`..`\u007f` denote ASCII, the same byte in both forms; anything else (or an escaped
    // backslash followed by a `u`, which only costs the slower path) counts.
    if (bytes[at + 2] !== 0x30 || bytes[at + 3] !== 0x30) return true;
    const third = bytes[at + 4];
    if (third === undefined || third < 0x30 || third > 0x37) return true;
  }
  return false;
}

/** The binary form of a real string: its UTF-8 bytes, one per character (lone surrogates as U+FFFD, as any UTF-8 write). */
export function binaryString(text: string): string {
  return /^[\x00-\x7f]*$/.test(text) ? text : Buffer.from(text, 'utf8').toString('latin1');
}

/** The real string a binary string holds the UTF-8 bytes of. */
export function realString(binary: string): string {
  return /^[\x00-\x7f]*$/.test(binary) ? binary : Buffer.from(binary, 'latin1').toString('utf8');
}

/** A parsed JSON value with `map` applied to every string and key; object key order is kept. */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    // JSON.parse makes `__proto__` an own property; an assignment would set the prototype.
    Object.defineProperty(out, map(key), { value: mapStrings(child, map), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A parsed JSON value with every string and key in binary form. */
export function toBinary(value: unknown): unknown {
  return mapStrings(value, binaryString);
}

/** A binary-form value back to real strings, for messages that quote it. */
export function fromBinary(value: unknown): unknown {
  return mapStrings(value, realString);
}
