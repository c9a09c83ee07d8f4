/**
 * What the fuzzers send: hostile JSON values (wrong types, missing and extra fields, huge strings
 * and arrays, deep nesting, `__proto__` / `constructor` / `prototype` keys as own properties,
 * control characters and lone surrogates, binary where text belongs), and mutations of valid
 * payloads (a field dropped, a type changed, a field added, a string or number edited).
 * Everything is bounded so that a case fits in one Socket.IO frame (1 MiB) and a run stays fast.
 */
import fc from 'fast-check';

/** Keys that reach prototypes; the values below carry them as own properties, as JSON.parse makes them. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** The property a successful pollution would add to `Object.prototype`. */
export const POLLUTION_MARKER = 'polluted';

/** Largest case sent over a socket, in bytes of JSON (the hub's frame limit is 1 MiB). */
export const MAX_CASE_BYTES = 900_000;

/**
 * Most binary attachments in one Socket.IO packet: the parser's decoder (socket.io-parser,
 * `maxAttachments`) refuses a packet with more by closing the connection, before the hub sees
 * it. The answered properties stay within; socket-frames.test.ts sends more.
 */
export const MAX_ATTACHMENTS = 10;

/** Whether a case fits in one packet the Socket.IO parser decodes: its size and its attachments. */
export function fitsOnePacket(value: unknown): boolean {
  return countBinary(value) <= MAX_ATTACHMENTS && wireSize(value) <= MAX_CASE_BYTES;
}

/** Strings with a meaning somewhere: to JavaScript, to Redis and Lua, to paths, shells, templates, parsers. */
const SPECIAL_STRINGS = [
  '',
  ' ',
  ...PROTOTYPE_KEYS,
  POLLUTION_MARKER,
  'toString',
  'valueOf',
  'hasOwnProperty',
  'toJSON',
  'then',
  'null',
  'undefined',
  'true',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '0x1F',
  '9007199254740993',
  '-1',
  '../../../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '%ZZ',
  '%ED%A0%80',
  '\u0000',
  '\r\n',
  '<script>alert(1)</script>',
  "' OR '1'='1",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template injection, sent as it is.
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '*',
  '\r\nFLUSHALL\r\n',
  '{slot}',
  '%d%s%n',
  'ncp:',
  '0-0',
  '1-1',
  '0-1',
  '999999999999999-999999999999999',
  '9999999999999999-0',
  '18446744073709551615-18446744073709551615',
  '$',
  '+',
  '-',
  'AAAAAAAAAAAAAAAAAAAAAA',
  '__________________________',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'a.b.c',
  'a.b.c.d.e',
  'Bearer ',
  'THREAT_TO_LIFE',
  'OPEN',
  'officer',
  'auditor',
  'ncb',
  'session:whoami',
  'message:send',
  '\ufeff',
  '\u202e',
  '\u2028',
  '\ud800',
  '\udfff',
  '\udc00\ud800',
  '😀',
  'é',
];

const CONTROL_CHARACTERS = [...Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)), '\u007f', '\u0085'];

/** One unit of a hostile string: a printable character, a control character, a lone surrogate, or a special one. */
const hostileUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...CONTROL_CHARACTERS) },
  { weight: 2, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\u2028', '\u2029', '\ufeff', '\u202e', '\u200b', '\ufffe', '\uffff', '\u0301'),
  },
);

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Strings of base64url characters around the lengths of the protocol's ids, keys and signatures. */
const nearlyBase64url: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(0, 21, 22, 23, 32, 43, 85, 86, 87, 107, 108), fc.integer({ min: 0, max: 63 }))
  .map(([length, char]) => (BASE64URL[char] as string).repeat(length));

/** A huge string (to 100 KB, in one of a few characters, some of which JSON escapes to six bytes). */
const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(1_000, 10_000, 100_000), fc.constantFrom('x', '\u0000', '\ud800', 'é', '😀', '"', '\\'))
  .map(([length, char]) => char.repeat(Math.ceil(length / char.length)));

/**
 * A hostile string, short (huge ones are a value of their own, {@link hostileValue}); `context`
 * adds well-formed values of the world (real ids, addresses, cursors).
 */
export function hostileString(context: readonly string[] = []): fc.Arbitrary<string> {
  const options: Array<fc.WeightedArbitrary<string>> = [
    { weight: 5, arbitrary: fc.string({ unit: hostileUnit, maxLength: 24 }) },
    { weight: 4, arbitrary: fc.constantFrom(...SPECIAL_STRINGS) },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: nearlyBase64url },
  ];
  if (context.length) options.push({ weight: 4, arbitrary: fc.constantFrom(...context) });
  return fc.oneof(...options);
}

/** A number the schemas should think twice about: boundaries, fractions, NaN and the infinities (null on the wire). */
const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    2 ** 31,
    2 ** 32,
    2 ** 53 - 1,
    2 ** 53,
    -(2 ** 53),
    8_640_000_000_000_001,
    1e21,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
  fc.double(),
);

/** Binary where text belongs: a Buffer, which Socket.IO sends as an attachment. */
const binary: fc.Arbitrary<Buffer> = fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes));

/** A huge Buffer (a huge attachment). */
const hugeBinary: fc.Arbitrary<Buffer> = fc.constantFrom(1_000, 100_000).map((length) => Buffer.alloc(length, 0xff));

/** An object with exactly these own properties, `__proto__` included (as JSON.parse makes it). */
export function ownObject(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return object;
}

/** What pollution attempts look like, as payloads or inside them. */
const POLLUTION_ATTEMPTS: unknown[] = [
  ownObject([['__proto__', { [POLLUTION_MARKER]: 'yes' }]]),
  ownObject([['constructor', { prototype: { [POLLUTION_MARKER]: 'yes' } }]]),
  ownObject([['__proto__', ownObject([['__proto__', { [POLLUTION_MARKER]: 'yes' }]])]]),
  ownObject([['prototype', { [POLLUTION_MARKER]: 'yes' }]]),
  ownObject([
    ['__proto__', { [POLLUTION_MARKER]: 'yes', toString: 'x', valueOf: 'x' }],
    ['constructor', ownObject([['__proto__', { [POLLUTION_MARKER]: 'yes' }]])],
  ]),
  [ownObject([['__proto__', { [POLLUTION_MARKER]: 'yes' }]])],
];

/** Options of {@link hostileValue}. */
export interface HostileContext {
  /** Field names of the wire contract (the seeds' keys), used as object keys more often than random ones. */
  keys?: readonly string[];
  /** Well-formed values of the world, used as strings more often than random ones. */
  strings?: readonly string[];
}

/**
 * A hostile JSON-like value (Buffers included), possibly nested; about one in 30 is huge (a
 * string or attachment to 100 KB, an array to 50,000 items, an object to 10,000 keys), one in
 * 50 deep (to 1,000 levels), one in 20 a pollution attempt.
 */
export function hostileValue(context: HostileContext = {}): fc.Arbitrary<unknown> {
  const string = hostileString(context.strings);
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...(context.keys?.length ? context.keys : ['conv'])) },
    { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS, POLLUTION_MARKER, 'toJSON', 'then', '') },
    { weight: 2, arbitrary: fc.string({ unit: hostileUnit, maxLength: 12 }) },
  );
  const leaf = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(null, undefined, true, false) },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 5, arbitrary: string },
    { weight: 1, arbitrary: binary },
  );
  const { value } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.array(fc.tuple(key, tie('value')), { maxLength: 5 }).map(ownObject),
  }));
  const deep = fc
    .tuple(fc.integer({ min: 10, max: 1_000 }), fc.boolean(), key, leaf)
    .map(([depth, inArrays, field, inner]) => {
      let nested: unknown = inner;
      for (let i = 0; i < depth; i++) nested = inArrays ? [nested] : ownObject([[field, nested]]);
      return nested;
    });
  const hugeArray = fc
    .tuple(fc.constantFrom(1_000, 10_000, 50_000), fc.constantFrom<unknown>(null, 0, 'x', {}, [], true))
    .map(([length, item]) => Array.from({ length }, () => item));
  const wideObject = fc
    .tuple(fc.constantFrom(100, 1_000, 10_000), fc.constantFrom<unknown>(null, 1, 'x'))
    .map(([width, item]) => ownObject(Array.from({ length: width }, (_, i) => [`k${i}`, item] as const)));
  return fc
    .oneof(
      { weight: 100, arbitrary: value },
      { weight: 5, arbitrary: fc.constantFrom(...POLLUTION_ATTEMPTS) },
      { weight: 2, arbitrary: deep },
      { weight: 1, arbitrary: hugeString },
      { weight: 1, arbitrary: hugeBinary },
      { weight: 1, arbitrary: hugeArray },
      { weight: 1, arbitrary: wideObject },
    )
    .filter(fitsOnePacket);
}

/** Payloads shaped like the contract's: objects whose keys are mostly its field names, with hostile values. */
export function hostilePayload(context: HostileContext = {}): fc.Arbitrary<unknown> {
  const value = hostileValue(context);
  const fields = fc.constantFrom(...(context.keys?.length ? context.keys : ['conv']));
  // One field in a shaped payload may be anything (huge and deep included), the others not.
  const plain = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, true, 0, -1, 1.5, ''),
      hostileString(context.strings),
      binary,
      fc.array(tie('value'), { maxLength: 3 }),
    ),
  })).value;
  const shaped = fc
    .tuple(
      fc.tuple(fc.oneof({ weight: 4, arbitrary: fields }, fc.constantFrom(...PROTOTYPE_KEYS)), value),
      fc.array(fc.tuple(fields, plain), { maxLength: 3 }),
    )
    .map(([first, rest]) => ownObject([first, ...rest]));
  return fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 2, arbitrary: value }).filter(fitsOnePacket);
}

/** The arguments of an emit before its ack: none, a payload, or a payload and extra arguments. */
export function emitArguments(context: HostileContext = {}): fc.Arbitrary<unknown[]> {
  const payload = hostilePayload(context);
  const extra = hostileValue(context);
  return fc
    .oneof<Array<fc.WeightedArbitrary<unknown[]>>>(
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 8, arbitrary: fc.tuple(payload) },
      { weight: 1, arbitrary: fc.tuple(payload, extra) },
      { weight: 1, arbitrary: fc.tuple(payload, extra, extra) },
    )
    .filter(fitsOnePacket);
}

/** How many Buffers a value holds (without recursion: values may be deep). */
export function countBinary(value: unknown): number {
  let count = 0;
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Uint8Array) count += 1;
    else if (item && typeof item === 'object') stack.push(...Object.values(item));
  }
  return count;
}

/** Whether a value holds binary (Socket.IO sends it as an attachment, and drops own `__proto__` keys beside it). */
export function hasBinary(value: unknown): boolean {
  return countBinary(value) > 0;
}

/**
 * The value the hub receives for a value this process sends, as Socket.IO carries it: JSON
 * (undefined dropped from objects and null in arrays, NaN and the infinities null, -0 as 0),
 * Buffers as Buffers, and own `__proto__` keys lost when the packet carries binary (the
 * client's packet deconstruction assigns them).
 */
export function wireValue(value: unknown, binaryPacket = hasBinary(value)): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value + 0 : null;
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : wireValue(item, binaryPacket)));
  if (value && typeof value === 'object') {
    return ownObject(
      Object.entries(value)
        .filter(([key, item]) => item !== undefined && !(binaryPacket && key === '__proto__'))
        .map(([key, item]) => [key, wireValue(item, binaryPacket)] as const),
    );
  }
  return value;
}

/** Bytes of JSON a value takes (Buffers counted by their length). */
export function wireSize(value: unknown): number {
  let bytes = 0;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === 'object' && (item as { type?: unknown }).type === 'Buffer') {
      bytes += ((item as { data: unknown[] }).data?.length ?? 0) - 2;
      return 0;
    }
    return item;
  });
  return bytes + Buffer.byteLength(text ?? '');
}

/** How a mutation finds its target: child indexes taken modulo the children's count, as deep as they go. */
type Path = number[];

/** An edit of a string. */
type StringEdit =
  | { kind: 'replace-char'; at: number; unit: string }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; text: string }
  | { kind: 'empty' }
  | { kind: 'huge'; length: number }
  | { kind: 'case' };

/** One change to a valid payload. */
export type Mutation =
  | { op: 'drop'; path: Path }
  | { op: 'replace'; path: Path; value: unknown }
  | { op: 'add'; path: Path; key: string; value: unknown }
  | { op: 'string'; path: Path; edit: StringEdit }
  | { op: 'number'; path: Path; value: number }
  | { op: 'wrap'; path: Path }
  | { op: 'binary'; path: Path }
  | { op: 'duplicate'; path: Path }
  | { op: 'swap'; path: Path; value: string };

/**
 * Some (1-3, mostly 1) mutations of a valid payload; about a third keep it well-formed (a string
 * swapped for another value of the world: another conversation's id, another officer's address,
 * another cursor), so that the hub's own checks, past the schema, are fuzzed too.
 */
export function mutations(context: HostileContext = {}): fc.Arbitrary<Mutation[]> {
  const path = fc.array(fc.nat(), { maxLength: 8 });
  const value = hostileValue(context);
  const unit = hostileUnit;
  const text = hostileString(context.strings);
  const edit: fc.Arbitrary<StringEdit> = fc.oneof(
    fc.record({ kind: fc.constant('replace-char' as const), at: fc.nat(), unit }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), text }),
    fc.constant({ kind: 'empty' as const }),
    fc.record({ kind: fc.constant('huge' as const), length: fc.constantFrom(1_000, 1_000, 1_000, 100_000) }),
    fc.constant({ kind: 'case' as const }),
  );
  const key = fc.oneof(
    fc.constantFrom(...(context.keys?.length ? context.keys : ['conv'])),
    fc.constantFrom(...PROTOTYPE_KEYS, POLLUTION_MARKER),
    fc.string({ maxLength: 8 }),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('drop' as const), path }) },
    { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), path, value }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('add' as const), path, key, value }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('string' as const), path, edit }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('number' as const), path, value: hostileNumber }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), path }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('binary' as const), path }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), path }) },
    {
      weight: context.strings?.length ? 10 : 0,
      arbitrary: fc.record({
        op: fc.constant('swap' as const),
        path,
        value: fc.constantFrom(...(context.strings?.length ? context.strings : [''])),
      }),
    },
  );
  return fc.oneof(
    { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }) },
  );
}

type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return Array.isArray(value) || (value !== null && typeof value === 'object' && !(value instanceof Uint8Array));
}

function childKeys(container: Container): Array<string | number> {
  return Array.isArray(container) ? container.map((_, i) => i) : Object.keys(container);
}

/** A deep copy of a JSON value (Buffers and own `__proto__` keys kept). */
function copy(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (Array.isArray(value)) return value.map(copy);
  if (isContainer(value)) return ownObject(Object.entries(value).map(([key, item]) => [key, copy(item)] as const));
  return value;
}

function editString(value: string, edit: StringEdit): string {
  const at = (n: number) => (value.length ? n % (value.length + 1) : 0);
  switch (edit.kind) {
    case 'replace-char': {
      const i = value.length ? edit.at % value.length : 0;
      return value.slice(0, i) + edit.unit + value.slice(i + 1);
    }
    case 'insert':
      return value.slice(0, at(edit.at)) + edit.text + value.slice(at(edit.at));
    case 'truncate':
      return value.slice(0, at(edit.at) === value.length ? 0 : at(edit.at));
    case 'append':
      return value + edit.text;
    case 'empty':
      return '';
    case 'huge':
      return value + 'A'.repeat(edit.length);
    case 'case':
      return value === value.toUpperCase() ? value.toLowerCase() : value.toUpperCase();
  }
}

/** Follows `path` from the root: the container holding the target and the target's key (none for the root). */
function locate(root: unknown, path: Path): { parent: Container; key: string | number } | undefined {
  let parent: Container | undefined;
  let key: string | number | undefined;
  let node = root;
  for (const step of path) {
    if (!isContainer(node)) break;
    const keys = childKeys(node);
    if (keys.length === 0) break;
    parent = node;
    key = keys[step % keys.length] as string | number;
    node = (node as Record<string | number, unknown>)[key];
  }
  return parent === undefined || key === undefined ? undefined : { parent, key };
}

/** For a swap: `path` followed (cyclically) down to a leaf. */
function leafPath(root: unknown, path: Path): Path {
  const full: number[] = [];
  let node = root;
  for (let i = 0; isContainer(node) && childKeys(node).length > 0 && i < 64; i++) {
    const step = (path.length ? (path[i % path.length] as number) : 0) + Math.floor(i / Math.max(1, path.length));
    const keys = childKeys(node);
    full.push(step);
    node = (node as Record<string | number, unknown>)[keys[step % keys.length] as string | number];
  }
  return full;
}

/** Applies the mutations to a copy of `seed`; `undefined` stands for no payload at all (the root dropped). */
export function mutate(seed: unknown, changes: readonly Mutation[]): unknown {
  let root = copy(seed);
  for (const change of changes) {
    const target = locate(root, change.op === 'swap' ? leafPath(root, change.path) : change.path);
    const get = () => (target ? (target.parent as Record<string | number, unknown>)[target.key] : root);
    const set = (value: unknown) => {
      if (!target) root = value;
      else if (Array.isArray(target.parent)) target.parent[target.key as number] = value;
      else
        Object.defineProperty(target.parent, target.key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
    };
    const current = get();
    switch (change.op) {
      case 'drop':
        if (!target) root = undefined;
        else if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
        else delete (target.parent as Record<string, unknown>)[target.key as string];
        break;
      case 'replace':
        set(copy(change.value));
        break;
      case 'add':
        if (Array.isArray(current)) current.push(copy(change.value));
        else if (isContainer(current)) {
          Object.defineProperty(current, change.key, {
            value: copy(change.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else set(ownObject([[change.key, copy(change.value)]]));
        break;
      case 'string':
        set(typeof current === 'string' ? editString(current, change.edit) : editString(String(current), change.edit));
        break;
      case 'number':
        set(change.value);
        break;
      case 'wrap':
        set([current]);
        break;
      case 'binary':
        set(Buffer.from(typeof current === 'string' ? current : JSON.stringify(current ?? null)));
        break;
      case 'swap':
        // Well-formed but wrong: only a string becomes another string of the world.
        if (typeof current === 'string') set(change.value);
        break;
      case 'duplicate':
        if (Array.isArray(current) && current.length) current.push(copy(current[0]));
        else set([current, copy(current)]);
        break;
    }
  }
  return root;
}

/** Canonical text of a value for comparing cases (Buffers as their hex, own `__proto__` keys kept). */
export function caseText(value: unknown): string {
  return (
    JSON.stringify(value, (_key, item: unknown) => {
      if (item && typeof item === 'object' && (item as { type?: unknown }).type === 'Buffer') {
        return `<binary ${Buffer.from((item as { data: number[] }).data)
          .toString('hex')
          .slice(0, 64)}>`;
      }
      return item === undefined ? '<undefined>' : item;
    }) ?? '<undefined>'
  );
}

/** A short description of a case for a failure message (huge strings and deep nests cut). */
export function describeCase(value: unknown): string {
  const text = caseText(value);
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} characters)` : text;
}
