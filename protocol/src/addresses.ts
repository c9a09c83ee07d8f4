import { z } from 'zod';
import { type AgencyId, agencyIdSchema, type OfficerId, officerIdSchema } from './identity.js';

/** A device id, chosen by the device, unique among its officer's devices. */
export const deviceIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'device id: 1-64 of A-Z, a-z, 0-9 and . _ -');
export type DeviceId = z.infer<typeof deviceIdSchema>;

/** An officer, as a member of a conversation. */
export const officerRefSchema = z.strictObject({ agency: agencyIdSchema, officer: officerIdSchema });
export type OfficerRef = z.infer<typeof officerRefSchema>;

/** One device of one officer: the sender of an envelope, the signer of a record or receipt. */
export const deviceRefSchema = z.strictObject({
  agency: agencyIdSchema,
  officer: officerIdSchema,
  device: deviceIdSchema,
});
export type DeviceRef = z.infer<typeof deviceRefSchema>;

/** `AGENCY/officer`: the string form of an {@link OfficerRef}, used as a map key. */
export type OfficerAddress = `${AgencyId}/${OfficerId}`;
/** `AGENCY/officer/device`: the string form of a {@link DeviceRef}, used as a map key. */
export type DeviceAddress = `${AgencyId}/${OfficerId}/${DeviceId}`;

export const officerAddressSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9-]{1,31}\/[A-Za-z0-9._@+:-]{1,128}$/, 'officer address: AGENCY/officer')
  .transform((value) => value as OfficerAddress);
export const deviceAddressSchema = z
  .string()
  .regex(
    /^[A-Z0-9][A-Z0-9-]{1,31}\/[A-Za-z0-9._@+:-]{1,128}\/[A-Za-z0-9._-]{1,64}$/,
    'device address: AGENCY/officer/device',
  )
  .transform((value) => value as DeviceAddress);

/** `AGENCY/officer` of an officer or device. */
export function officerAddress(ref: OfficerRef): OfficerAddress {
  return `${ref.agency}/${ref.officer}`;
}

/** `AGENCY/officer/device` of a device. */
export function deviceAddress(ref: DeviceRef): DeviceAddress {
  return `${ref.agency}/${ref.officer}/${ref.device}`;
}

/** The device of an address (the inverse of {@link deviceAddress}). */
export function parseDeviceAddress(address: DeviceAddress): DeviceRef {
  const [agency, officer, device] = address.split('/') as [string, string, string];
  return { agency, officer, device };
}

/** The officer of an address (the inverse of {@link officerAddress}). */
export function parseOfficerAddress(address: OfficerAddress): OfficerRef {
  const [agency, officer] = address.split('/') as [string, string];
  return { agency, officer };
}
