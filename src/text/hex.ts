// Hex digits as lookup tables, shared by every parser and writer of hex text (info hashes in
// list files, state dumps, full scrapes, %-escapes): one table each way, built once at load.
// Tables rather than functions because the callers walk bytes in tight loops (a 1M-line state
// dump, a full scrape) and must neither allocate nor make a call per digit.

/** The value of each byte as a hex digit (0-9, A-F, a-f), or -1 when it is not one. */
export const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUE[0x41 + i] = 10 + i;
  HEX_VALUE[0x61 + i] = 10 + i;
}

/** The two uppercase hex digits of each byte value `b`, as character codes at [2b] and [2b + 1]. */
export const HEX_UPPER = digitPairs('0123456789ABCDEF');
/** The same in lowercase. */
export const HEX_LOWER = digitPairs('0123456789abcdef');

function digitPairs(digits: string): Uint8Array {
  const table = new Uint8Array(512);
  for (let b = 0; b < 256; b++) {
    table[2 * b] = digits.charCodeAt(b >> 4);
    table[2 * b + 1] = digits.charCodeAt(b & 15);
  }
  return table;
}
