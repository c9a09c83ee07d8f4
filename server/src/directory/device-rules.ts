import { ConversationError, type DeviceAddress, DirectoryError } from '@ncp-hub/protocol';

/**
 * The directory's two rules, in Lua, for the scripts that store what devices send (messages,
 * receipts, membership records, a query's opening), so that each rule is checked in the same
 * step as the write it guards. Both read the officers' `deviceExpiries` hashes (device ->
 * `expiresAt`, seconds), building their keys from `prefix` (`prefix .. officer .. '}:devexp'`): keys no script declares, which a
 * single Redis allows (the hub needs one; see redis-keys.ts).
 *
 * - `isCurrentDevice(prefix, now, officer, device)`: the device of `officer` (`AGENCY/officer`)
 *   is published and its attestation unexpired at `now`; the sender of anything stored must be.
 * - `missingRecipients(officers, prefix, now, sender, to, missing)`: adds to the set `missing`
 *   the devices (`AGENCY/officer/device`) of `officers` that are published and unexpired at
 *   `now`, other than `sender`, and not in `to` (an envelope's `header.to`); `sorted(missing)`
 *   lists them.
 */
export const DEVICE_RULES_LUA = `
local function isCurrentDevice(prefix, now, officer, device)
  local expiresAt = redis.call('HGET', prefix .. officer .. '}:devexp', device)
  return expiresAt ~= false and tonumber(expiresAt) > now
end
local function missingRecipients(officers, prefix, now, sender, to, missing)
  local listed = {}
  for _, address in ipairs(to) do listed[address] = true end
  for _, officer in ipairs(officers) do
    local devices = redis.call('HGETALL', prefix .. officer .. '}:devexp')
    for i = 1, #devices, 2 do
      local address = officer .. '/' .. devices[i]
      if tonumber(devices[i + 1]) > now and address ~= sender and not listed[address] then
        missing[address] = true
      end
    end
  end
  return missing
end
local function sorted(set)
  local list = {}
  for value in pairs(set) do table.insert(list, value) end
  table.sort(list)
  return list
end
`;

/** The time the directory's expiries are compared with: seconds since the epoch, as attestations' `exp`. */
export function nowInSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * DEVICE_NOT_PUBLISHED for a device that was published and is no longer: its attestation has
 * expired, or its agency's registry withdrew it (a revoked key, officer or device; PROTOCOL
 * §2.6). What the hub answers whatever it sends, until it publishes a new attestation.
 */
export function noLongerPublished(): DirectoryError {
  return new DirectoryError(
    'DEVICE_NOT_PUBLISHED',
    'this device is no longer published (its attestation expired, or its agency withdrew it): publish a new attestation (directory:publish)',
  );
}

/** RECIPIENTS_CHANGED: the envelope must be sealed again, to these devices too. */
export function recipientsChanged(missing: DeviceAddress[]): ConversationError {
  return new ConversationError(
    'RECIPIENTS_CHANGED',
    'the recipients leave out current devices of the members: fetch the devices and seal the envelope again',
    { missing },
  );
}
