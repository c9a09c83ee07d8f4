# syntax=docker/dockerfile:1
# One image for hub nodes (`node server/dist/main.js`, the default command) and follow-up
# workers (`node server/dist/worker.js`). docker-compose.yml runs both; README "Deployment".
# test/integration/deployment-files.test.ts lints this file's structure (Docker cannot run in CI).

# --- build: every workspace compiled, the console bundled ---------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
# The manifests alone first, so that `npm ci` stays cached until a package.json or the lock
# changes. Every workspace's manifest: the lock lists each workspace and `npm ci` installs it as is.
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY crypto/package.json crypto/
COPY keys/package.json keys/
COPY client-sdk/package.json client-sdk/
COPY server/package.json server/
COPY console/package.json console/
COPY tools/api-docs/package.json tools/api-docs/
# --ignore-scripts: the root's `prepare` script (`npm run build`) would run before the sources
# are copied; the build is the explicit step below. No dependency needs its install script
# (msgpackr-extract's only checks for its optional prebuilt binary).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build && npm run console:build

# --- runtime: production dependencies, the built files, a non-root user --------------------
FROM node:20-bookworm-slim AS runtime
# tini as PID 1: it forwards SIGTERM/SIGINT to node and reaps zombies (the hub handles its
# signals itself, but PID 1 gets no default signal actions and nothing else would reap).
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The key CLI (it imports keys/dist), before `npm ci` so that npm links it as
# node_modules/.bin/ncp-keys: `docker compose exec hub-1 npx ncp-keys ...`, as the banner says.
COPY keys/bin keys/bin
COPY package.json package-lock.json ./
COPY protocol/package.json protocol/
COPY crypto/package.json crypto/
COPY keys/package.json keys/
COPY client-sdk/package.json client-sdk/
COPY server/package.json server/
COPY console/package.json console/
COPY tools/api-docs/package.json tools/api-docs/
# Production dependencies only. The workspaces become node_modules/@ncp-hub/* symlinks to
# their folders, whose package.json "exports" point at ./dist: the dist folders come next.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# What the server imports at run time: protocol, crypto and keys (never the SDK), and the
# console it serves at / (CONSOLE_DIR defaults to console/dist beside server/).
COPY --from=build /app/protocol/dist protocol/dist
COPY --from=build /app/crypto/dist crypto/dist
COPY --from=build /app/keys/dist keys/dist
COPY --from=build /app/server/dist server/dist
COPY --from=build /app/console/dist console/dist
# DATA_DIR: the hub key (hub-keys/) and, without TRUST_REGISTRY, the development registry
# (dev/). Owned by node so that a named volume mounted here starts writable by it.
RUN mkdir -p /data && chown node:node /data
USER node
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data
EXPOSE 8080
# node's own fetch: the slim image has no curl. A worker has no HTTP server: compose disables
# this check for it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "server/dist/main.js"]
