/**
 * Whether JSON text has an object with the same member name twice. `JSON.parse` keeps the last
 * value of a duplicated member, another parser may keep the first: the same signed bytes would
 * then show different text to different recipients, so content with a duplicate is refused.
 * Names are compared after their escapes are decoded (`"text"` and `"\u0074ext"` are the same
 * name). `text` must already be valid JSON (it has been through `JSON.parse`). Internal.
 */
export function hasDuplicateMembers(text: string): boolean {
  /** One entry per open array or object: the names seen in an object, null for an array. */
  const open: Array<Set<string> | null> = [];
  let expectingName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const end = endOfString(text, i);
      const names = open.at(-1);
      if (expectingName && names) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
        expectingName = false;
      }
      i = end;
    } else if (char === '{') {
      open.push(new Set());
      expectingName = true;
    } else if (char === '[') {
      open.push(null);
      expectingName = false;
    } else if (char === '}' || char === ']') {
      open.pop();
      expectingName = false;
    } else if (char === ',') {
      expectingName = open.at(-1) !== null && open.length > 0;
    }
  }
  return false;
}

/** The index of the closing quote of the string literal opening at `start`. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}
