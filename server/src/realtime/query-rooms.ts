import type { OfficerRef, QueryView } from '@ncp-hub/protocol';
import { officerAddress } from '@ncp-hub/protocol';
import { officerRoom, roleRoom } from '../realtime/rooms.js';

const officerRoomOf = (officer: OfficerRef) => officerRoom(officerAddress(officer));

/** The requesting officer's devices. */
export function requesterOf(query: QueryView): string {
  return officerRoomOf(query.requester);
}

/** Who hears of a query's changes: both officers, the NCB desks informed, the central authority. */
export function partiesOf(query: QueryView): string[] {
  return [
    officerRoomOf(query.requester),
    officerRoomOf(query.counterpart),
    ...ncbDesksOf(query),
    ...(query.formalRequest.filing ? [roleRoom(query.formalRequest.filing.centralAuthority, 'central-authority')] : []),
  ];
}

/** The NCB desks told of a query: the requesting state's, and any other informed. */
export function ncbDesksOf(query: QueryView): string[] {
  return [query.ncb.agency, ...query.ncb.alsoInformed].map((agency) => roleRoom(agency, 'ncb'));
}

/** Where escalations go: the requesting agency's supervisors and the requesting officer. */
export function escalationTargetsOf(query: QueryView): string[] {
  return [roleRoom(query.requester.agency, 'supervisor'), officerRoomOf(query.requester)];
}
