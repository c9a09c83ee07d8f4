/**
 * The web console's files (section 8 of docs/PROTOCOL.md): the built folder (`CONSOLE_DIR`)
 * served at `/` under a strict Content-Security-Policy, with `index.html` for the console's own
 * paths (SPA fallback); never for the API's paths, which keep their JSON answers.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';

/** Paths that are the hub's, not the console's: their unknown routes answer the JSON `NOT_FOUND`. */
export const API_PATH_PREFIXES: readonly string[] = ['/v1', '/socket.io', '/healthz', '/readyz', '/metrics'];

/** Whether `path` is one of {@link API_PATH_PREFIXES} or under one. */
export function isApiPath(path: string): boolean {
  return API_PATH_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** A `Host` header fit to be written into a CSP source (a host name or address and a port). */
const CSP_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The console's Content-Security-Policy: its own files only, no inline script or style, no
 * `eval` (WebAssembly compilation aside, for libsodium), no plugin, no `<base>`, never framed; WebSocket connections to the hub's own origin (the host the
 * browser asked for), which `'self'` does not cover in every browser.
 */
export function consoleContentSecurityPolicy(host: string | undefined): string {
  const sockets = host !== undefined && CSP_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    // libsodium is WebAssembly: compiling it needs 'wasm-unsafe-eval', which allows no eval() of script.
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** Whether the console folder holds a built console (its `index.html`). */
export function isConsoleBuilt(dir: string): boolean {
  return existsSync(join(dir, 'index.html'));
}

/** What `/` says when the console is not built, in words and how to build it. */
export const CONSOLE_NOT_BUILT_MESSAGE = 'the web console is not built: run npm run console:build, then reload';

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ncp-hub: console not built</title></head>
<body>
<h1>The web console is not built</h1>
<p>Run <code>npm run console:build</code> in the hub's folder (or <code>npm start</code>, which builds it when missing), then reload this page.</p>
<p>The hub's API answers as usual: <a href="/healthz">/healthz</a>.</p>
</body>
</html>
`;

/** What the console routes need. */
export interface ConsoleAssetsOptions {
  /** The built console folder (`CONSOLE_DIR`). */
  dir: string;
  /** The peer address's `read` budget, as for every route without a token. */
  byAddress: RequestHandler;
  /** Answers the hub's JSON `NOT_FOUND`, with `message` (else the unknown route's). */
  notFound: (res: Response, message?: string) => void;
}

/** Files Vite names by their content (`assets/name-HASH.js`): cached for good. */
const IMMUTABLE_PREFIX = '/assets/';

/**
 * The console: `GET`/`HEAD` of a path outside {@link API_PATH_PREFIXES} serves the file of that
 * path in `dir`, or `index.html` for a path whose last segment has no extension (a route of the
 * console); a missing file with an extension is the JSON `NOT_FOUND`; a path that is not valid
 * percent-encoding, `BAD_REQUEST` (the error handler's answer to the `URIError`). The folder is looked at on
 * each request, so that a console built after the hub started is served without a restart;
 * while it has no `index.html`, `/` and the console's routes answer {@link CONSOLE_NOT_BUILT_MESSAGE}
 * (HTML for a browser, else the JSON `NOT_FOUND` with that message).
 */
export function consoleAssets(options: ConsoleAssetsOptions): Router {
  const { dir, byAddress, notFound } = options;
  const router = Router();
  const files = express.static(dir, {
    index: 'index.html',
    redirect: false,
    dotfiles: 'ignore',
    cacheControl: false,
    etag: true,
    setHeaders(res, path) {
      const relative = path.slice(dir.length).replaceAll('\\', '/');
      res.setHeader(
        'Cache-Control',
        relative.startsWith(IMMUTABLE_PREFIX) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });

  const isConsoleRequest = (req: Request) => (req.method === 'GET' || req.method === 'HEAD') && !isApiPath(req.path);

  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!isConsoleRequest(req)) return next('router');
    res.setHeader('Content-Security-Policy', consoleContentSecurityPolicy(req.headers.host));
    try {
      decodeURIComponent(req.path);
    } catch (error) {
      // A path that is not valid percent-encoding: a 400 URIError, as the router raises for a path
      // parameter, which the error handler answers BAD_REQUEST (requestReadRefusal).
      return next(Object.assign(error as URIError, { status: 400 }));
    }
    next();
  });
  router.use(byAddress, files, (req: Request, res: Response) => {
    const last = req.path.slice(req.path.lastIndexOf('/') + 1);
    if (last.includes('.')) return notFound(res);
    if (isConsoleBuilt(dir)) {
      res.setHeader('Cache-Control', 'no-cache');
      return res.sendFile(join(dir, 'index.html'));
    }
    if (req.accepts(['json', 'html']) === 'html') {
      res.status(404).type('html').send(NOT_BUILT_PAGE);
      return;
    }
    notFound(res, CONSOLE_NOT_BUILT_MESSAGE);
  });
  return router;
}
