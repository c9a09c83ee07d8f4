// Hash routing: #/ (sign-in, conversations, or an NCB desk's notifications), #/new, #/c/<conversation id>,
// #/query (the operational query form), #/q/<query id> (a query's follow-up), #/device (this device:
// export and import of its keys). The home view depends on the roles: an NCB desk's board, a
// central authority's formal requests, a supervisor's escalations, an auditor's log, else the
// officer's conversations.
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'home' }
  | { name: 'new' }
  | { name: 'conversation'; id: string }
  | { name: 'new-query' }
  | { name: 'query'; id: string }
  | { name: 'device' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/new') return { name: 'new' };
  if (path === '/query') return { name: 'new-query' };
  if (path === '/device') return { name: 'device' };
  const match = /^\/c\/([A-Za-z0-9_-]+)$/.exec(path);
  if (match?.[1]) return { name: 'conversation', id: match[1] };
  const query = /^\/q\/([A-Za-z0-9_-]+)$/.exec(path);
  if (query?.[1]) return { name: 'query', id: query[1] };
  return { name: 'home' };
}

export function navigate(to: string): void {
  location.hash = to;
}

/** The current route, following `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}
