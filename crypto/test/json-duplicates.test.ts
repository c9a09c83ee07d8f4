import { describe, expect, it } from 'vitest';
import { hasDuplicateMembers } from '../src/json-duplicates.js';

describe('hasDuplicateMembers', () => {
  it('finds a name twice in one object, at any depth, escapes decoded', () => {
    expect(hasDuplicateMembers('{"a":1,"a":2}')).toBe(true);
    expect(hasDuplicateMembers('{"x":{"b":[1,{"c":1,"c":2}]}}')).toBe(true);
    expect(hasDuplicateMembers('[{"a":1},{"a":1,"b":2,"\\u0062":3}]')).toBe(true);
    expect(hasDuplicateMembers('{"a":{"a":1},"b":{"a":2}}')).toBe(false);
    expect(hasDuplicateMembers('[{"a":1},{"a":1}]')).toBe(false);
    expect(hasDuplicateMembers('{"a":"\\"a\\":1,","b":["a","a"]}')).toBe(false);
    expect(hasDuplicateMembers('"a"')).toBe(false);
    expect(hasDuplicateMembers(' { "k" : [ ] , "k" : null } ')).toBe(true);
  });
});
