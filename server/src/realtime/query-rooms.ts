import { EVENTS, type OfficerRef, officerAddress, type QueryView } from '@ncp-hub/protocol';
import type { QueryAudience, QueryNotifier } from '../queries/query-service.js';
import { officerRoom, roleRoom } from './rooms.js';
import type { HubServer } from './socket-types.js';

const officerRoomOf = (officer: OfficerRef) => officerRoom(officerAddress(officer));

/** The NCB desks told of a query: the requesting state's, and any other informed. */
function ncbDesksOf(query: QueryView): string[] {
  return [query.ncb.agency, ...query.ncb.alsoInformed].map((agency) => roleRoom(agency, 'ncb'));
}

/** The Socket.IO rooms of each audience of a query (see `QUERY_AUDIENCES`). */
const ROOMS_OF_AUDIENCE: Readonly<Record<QueryAudience, (query: QueryView) => string[]>> = {
  requester: (query) => [officerRoomOf(query.requester)],
  parties: (query) => [
    officerRoomOf(query.requester),
    officerRoomOf(query.counterpart),
    ...ncbDesksOf(query),
    ...(query.formalRequest.filing ? [roleRoom(query.formalRequest.filing.centralAuthority, 'central-authority')] : []),
  ],
  'ncb-desks': ncbDesksOf,
  escalation: (query) => [roleRoom(query.requester.agency, 'supervisor'), officerRoomOf(query.requester)],
};

/** The rooms of some audiences of a query, each once. */
export function roomsOfAudiences(audiences: readonly QueryAudience[], query: QueryView): string[] {
  return [...new Set(audiences.flatMap((audience) => ROOMS_OF_AUDIENCE[audience](query)))];
}

/**
 * The query notifier of a hub node or worker process: each event goes to its audiences' rooms,
 * on every node through the cluster adapter. `server` is asked at each event, as the services
 * are built before the Socket.IO server of a hub node.
 */
export function createQueryNotifier(server: () => HubServer | undefined): QueryNotifier {
  return {
    notify(audiences, event) {
      server()?.to(roomsOfAudiences(audiences, event.query)).emit(EVENTS.queryEvent, event);
    },
  };
}
