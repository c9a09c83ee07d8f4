// Hash routing: #/ (sign-in or conversations), #/new, #/c/<conversation id>.
import { useEffect, useState } from 'preact/hooks';

export type Route = { name: 'home' } | { name: 'new' } | { name: 'conversation'; id: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  if (path === '/new') return { name: 'new' };
  const match = /^\/c\/([A-Za-z0-9_-]+)$/.exec(path);
  if (match?.[1]) return { name: 'conversation', id: match[1] };
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
