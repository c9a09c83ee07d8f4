/**
 * The Lua that a store script runs before its first write, so that it writes all or nothing.
 * Redis does not undo a script's earlier writes when a later command fails; the one command
 * error a write of the hub's can meet mid-way is WRONGTYPE (a key holding another type than the
 * one written: a foreign or a corrupt value). `assertKeyTypes(expected)` — a list of
 * `{ key, type }` with the `TYPE` names (`string`, `list`, `set`, `hash`, `stream`) — raises a
 * WRONGTYPE error naming the first key that exists with another type, before anything is
 * written: the caller answers `INTERNAL` (see answerable-error.ts) and nothing is half-made.
 * (Out of memory is not such an error: Redis refuses a script at its first write or not at all.)
 */
export const KEY_TYPES_LUA = `
local function assertKeyTypes(expected)
  for _, slot in ipairs(expected) do
    local actual = redis.call('TYPE', slot.key).ok
    if actual ~= 'none' and actual ~= slot.type then
      error({ err = 'WRONGTYPE ' .. slot.key .. ' holds a ' .. actual .. ', not a ' .. slot.type .. ': nothing written' })
    end
  end
end
`;
