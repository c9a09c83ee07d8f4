/**
 * The deployment files (README "Deployment"), which Docker cannot run here: the Dockerfile's
 * structure, parsed instruction by instruction; docker-compose.yml and docker-compose.ha.yml,
 * parsed as YAML, with deploy/nginx.conf and deploy/sentinel.conf; every environment variable
 * they give the hub is one server/src/config.ts reads; the README's "Deployment" section names
 * what the files hold; and `docker-compose config -q` accepts the files (skipped with a reason
 * where docker-compose is missing, except under CI).
 *
 * Each check is a function returning its problems, so that the files as they are must have
 * none, and each check is also shown to fire on a copy of the files with its defect put in.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

const FILES = {
  dockerfile: read('Dockerfile'),
  dockerignore: read('.dockerignore'),
  compose: read('docker-compose.yml'),
  composeHa: read('docker-compose.ha.yml'),
  nginx: read('deploy/nginx.conf'),
  sentinel: read('deploy/sentinel.conf'),
  config: read('server/src/config.ts'),
  readme: read('README.md'),
};
type Files = typeof FILES;

// --- the Dockerfile ------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages: comment lines dropped, continuation lines joined, as Docker reads it. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  if (pending) logical.push(pending);
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() };
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** An exec-form argument (`["node", "x.js"]`) as its words, a shell form as one string. */
function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((item) => typeof item === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** `ENV A=1 B=2` (or the old `ENV A 1`) as pairs. */
function envPairs(args: string): Array<[string, string]> {
  if (!args.includes('=')) {
    const [name = '', ...value] = args.split(/\s+/);
    return [[name, value.join(' ')]];
  }
  return [...args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)].map((m) => [
    m[1] as string,
    (m[2] as string).replace(/^"|"$/g, ''),
  ]);
}

/** The sources and destination of a COPY, its flags apart. */
function copyParts(args: string): { from: string | undefined; sources: string[]; dest: string } {
  const words = execForm(args) ?? args.split(/\s+/);
  const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((word) => !word.startsWith('--'));
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' };
}

const stripSlash = (path: string) => path.replace(/\/+$/, '').replace(/^\.\//, '');

/** The workspaces, by folder and package name, with their `@ncp-hub/*` dependencies and bins. */
interface Workspace {
  dir: string;
  name: string;
  internal: string[];
  bin: string[];
}
function readWorkspaces(): Workspace[] {
  const root = JSON.parse(read('package.json')) as { workspaces: string[] };
  return root.workspaces.map((dir) => {
    const manifest = JSON.parse(read(`${dir}/package.json`)) as {
      name: string;
      dependencies?: Record<string, string>;
      bin?: Record<string, string>;
    };
    return {
      dir,
      name: manifest.name,
      internal: Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith('@ncp-hub/')),
      bin: Object.values(manifest.bin ?? {}).map(
        (path) => `${dir}/${stripSlash(path).split('/').slice(0, -1).join('/')}`,
      ),
    };
  });
}
const WORKSPACES = readWorkspaces();

/** The server and every workspace it imports, transitively: what the image must hold built. */
function runtimeWorkspaces(): Workspace[] {
  const byName = new Map(WORKSPACES.map((workspace) => [workspace.name, workspace]));
  const needed = new Map<string, Workspace>();
  const visit = (name: string) => {
    const workspace = byName.get(name);
    if (!workspace || needed.has(name)) return;
    needed.set(name, workspace);
    for (const dependency of workspace.internal) visit(dependency);
  };
  visit('@ncp-hub/server');
  return [...needed.values()];
}

/** The value of a `WORKDIR`-relative path as an absolute one. */
const absolute = (workdir: string, path: string) => (path.startsWith('/') ? path : `${workdir}/${path}`);

function lintDockerfile(text: string): string[] {
  const problems: string[] = [];
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push(`${stages.length} FROM: not a multi-stage build`);
  for (const stage of stages) {
    if (!/^node:20(\.\d+){0,2}-(bookworm-)?slim(@sha256:[0-9a-f]{64})?$/.test(stage.image)) {
      problems.push(`FROM ${stage.image}: not a node:20 slim image`);
    }
  }
  const final = stages.at(-1);
  if (!final) return problems;
  const all = (keyword: string) => final.instructions.filter((instruction) => instruction.keyword === keyword);
  const last = (keyword: string) => all(keyword).at(-1);
  const runs = all('RUN').map((instruction) => instruction.args);
  const workdir = last('WORKDIR')?.args ?? '/';

  // Each stage that installs copies every workspace manifest first (npm ci installs the lock's workspaces).
  for (const [index, stage] of stages.entries()) {
    const install = stage.instructions.findIndex(
      (instruction) => instruction.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(instruction.args),
    );
    if (install < 0) continue;
    const copied = stage.instructions
      .slice(0, install)
      .filter((instruction) => instruction.keyword === 'COPY' && !copyParts(instruction.args).from)
      .flatMap((instruction) => copyParts(instruction.args).sources.map(stripSlash));
    for (const manifest of ['package.json', 'package-lock.json', ...WORKSPACES.map((w) => `${w.dir}/package.json`)]) {
      if (!copied.includes(manifest)) problems.push(`stage ${index + 1}: ${manifest} is not copied before npm ci`);
    }
  }

  const build = stages.slice(0, -1);
  const buildRuns = build.flatMap((stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args));
  for (const script of ['npm run build', 'npm run console:build']) {
    if (!buildRuns.some((run) => run.includes(script))) problems.push(`no build stage runs ${script}`);
  }

  const installs = runs.filter((run) => /\bnpm (ci|install)\b/.test(run));
  if (installs.length === 0) problems.push('final stage: installs no production dependencies (no npm ci)');
  for (const run of installs) {
    if (!/--omit[= ]dev\b/.test(run) || /--include[= ]dev\b|--production[= ]false/.test(run)) {
      problems.push(`final stage: "${run}" installs dev dependencies (no --omit=dev)`);
    }
    // The root's `prepare` is `npm run build`: tsc, a dev dependency the final stage lacks.
    if (!run.includes('--ignore-scripts')) {
      problems.push(`final stage: "${run}" runs the root's prepare script (npm run build) without dev dependencies`);
    }
  }
  const copiesFromBuild = all('COPY').map((instruction) => copyParts(instruction.args));
  for (const copy of copiesFromBuild) {
    if (copy.from && copy.sources.some((source) => /(^|\/)node_modules\/?$/.test(source))) {
      problems.push(`final stage: copies node_modules from stage ${copy.from}, dev dependencies included`);
    }
  }

  // What the server loads at run time: each workspace it imports resolves, through its
  // node_modules symlink, to the package's "exports" in dist/; the console it serves.
  const copiedFromBuild = (dir: string) =>
    copiesFromBuild.some(
      (copy) =>
        copy.from !== undefined &&
        copy.sources.some((source) => stripSlash(source).endsWith(`/${dir}`) || stripSlash(source) === dir) &&
        absolute(workdir, stripSlash(copy.dest)) === absolute(workdir, dir),
    );
  for (const workspace of runtimeWorkspaces()) {
    if (!copiedFromBuild(`${workspace.dir}/dist`)) {
      problems.push(`final stage: ${workspace.dir}/dist is not copied from the build (${workspace.name} is loaded)`);
    }
    for (const bin of workspace.bin) {
      const copied = all('COPY').some((instruction) => {
        const copy = copyParts(instruction.args);
        return copy.sources.some((source) => stripSlash(source).endsWith(bin)) && stripSlash(copy.dest).endsWith(bin);
      });
      if (!copied) problems.push(`final stage: ${workspace.dir}'s bin folder ${bin} is not copied`);
    }
  }
  if (!copiedFromBuild('console/dist')) problems.push('final stage: console/dist is not copied from the build');

  const user = last('USER')?.args.split(':')[0];
  if (user === undefined) problems.push('final stage: no USER, runs as root');
  else if (user === 'root' || user === '0') problems.push(`final stage: USER ${user} is root`);

  const healthcheck = last('HEALTHCHECK')?.args;
  if (!healthcheck || /^NONE$/i.test(healthcheck)) problems.push('final stage: no HEALTHCHECK');
  else {
    if (!healthcheck.includes('/healthz')) problems.push('HEALTHCHECK does not request /healthz');
    if (/\b(curl|wget)\b/.test(healthcheck)) problems.push('HEALTHCHECK uses curl or wget, which the slim image lacks');
    if (!/\bnode\b/.test(healthcheck)) problems.push('HEALTHCHECK does not run node');
  }

  const entrypoint = execForm(last('ENTRYPOINT')?.args ?? '') ?? [];
  if (!entrypoint.some((word) => /(^|\/)tini$/.test(word))) {
    problems.push('final stage: ENTRYPOINT is not tini (node would be PID 1)');
  } else if (!runs.some((run) => /apt-get install[^&;|]*\btini\b/.test(run))) {
    problems.push('final stage: ENTRYPOINT runs tini, which no apt-get install of this stage installs');
  }

  if (!all('EXPOSE').some((instruction) => instruction.args.split(/\s+/).includes('8080'))) {
    problems.push('final stage: EXPOSE 8080 missing');
  }
  const env = Object.fromEntries(all('ENV').flatMap((instruction) => envPairs(instruction.args)));
  for (const [name, value] of Object.entries({ HOST: '0.0.0.0', PORT: '8080', DATA_DIR: '/data' })) {
    if (env[name] !== value) problems.push(`final stage: ENV ${name} is ${env[name] ?? 'unset'}, not ${value}`);
  }
  const cmd = execForm(last('CMD')?.args ?? '');
  if (JSON.stringify(cmd) !== JSON.stringify(['node', 'server/dist/main.js'])) {
    problems.push(`final stage: CMD is ${last('CMD')?.args ?? 'unset'}, not ["node","server/dist/main.js"]`);
  }
  return problems;
}

function lintDockerignore(text: string): string[] {
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  // A host's node_modules or dist (of any workspace) copied by `COPY . .` would replace what the build made.
  return ['**/node_modules', '**/dist', '.git', '**/.data', 'test-results', 'docs/api']
    .filter((pattern) => !patterns.includes(pattern))
    .map((pattern) => `.dockerignore: ${pattern} missing`);
}

// --- docker-compose.yml and docker-compose.ha.yml -------------------------------------------

interface Service {
  image?: string;
  build?: string | { context?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: Array<string | { source?: string; target?: string }>;
  ports?: Array<string | number>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  profiles?: string[];
}
interface ComposeFile {
  services?: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** docker-compose's YAML: anchors and `<<` merge keys resolved, as Compose reads them. */
const parseCompose = (text: string) => parse(text, { merge: true }) as ComposeFile;

const words = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.map(String) : (value ?? '').split(/\s+/).filter(Boolean);
function environment(service: Service | undefined): Record<string, string> {
  const env = service?.environment;
  if (!env) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((item) => [item.split('=')[0] ?? '', item.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, value === null ? '' : String(value)]));
}
/** A volume's `source:target`, in the short or the long syntax. */
function volumes(service: Service | undefined): Array<{ source: string; target: string; readOnly: boolean }> {
  return (service?.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string')
      return { source: volume.source ?? '', target: volume.target ?? '', readOnly: false };
    const [source = '', target = '', mode = ''] = volume.split(':');
    return { source, target, readOnly: mode.split(',').includes('ro') };
  });
}
const dependsHealthy = (service: Service | undefined, on: string) =>
  !Array.isArray(service?.depends_on) && service?.depends_on?.[on]?.condition === 'service_healthy';

/** Every environment variable the hub reads: the keys of config.ts's schema, read as text (it is not exported). */
function configNames(configSource: string): Set<string> {
  return new Set([...configSource.matchAll(/^\s+([A-Z][A-Z0-9_]*):\s*z\b/gm)].map((m) => m[1] as string));
}

const HUB_SERVICES = ['hub-1', 'hub-2', 'worker'] as const;
const HA_SERVICES = ['redis-replica', 'redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'] as const;
const BASE_SERVICES = ['redis', ...HUB_SERVICES, 'lb'] as const;

function lintCompose(files: Files): string[] {
  const problems: string[] = [];
  const compose = parseCompose(files.compose);
  const ha = parseCompose(files.composeHa);
  const services = compose.services ?? {};
  const namedVolumes = new Set(Object.keys(compose.volumes ?? {}));
  const dataDir =
    Object.fromEntries(
      (parseDockerfile(files.dockerfile).at(-1)?.instructions ?? [])
        .filter((i) => i.keyword === 'ENV')
        .flatMap((i) => envPairs(i.args)),
    ).DATA_DIR ?? '';

  const base = Object.keys(services).filter((name) => !services[name]?.profiles?.length);
  if (JSON.stringify(base.sort()) !== JSON.stringify([...BASE_SERVICES].sort())) {
    problems.push(`services without a profile: ${base.join(', ')}, not ${BASE_SERVICES.join(', ')}`);
  }

  // Redis: AOF, noeviction, a named volume, a health check.
  const redis = services.redis;
  const redisCommand = words(redis?.command).join(' ');
  if (!/^redis:7\b/.test(redis?.image ?? '')) problems.push(`redis: image ${redis?.image}, not redis:7`);
  if (!redisCommand.includes('--appendonly yes')) problems.push('redis: no --appendonly yes');
  if (!redisCommand.includes('--maxmemory-policy noeviction')) problems.push('redis: no --maxmemory-policy noeviction');
  if (!volumes(redis).some((v) => v.target === '/data' && namedVolumes.has(v.source))) {
    problems.push('redis: /data is not a named volume');
  }
  if (!words(redis?.healthcheck?.test).join(' ').includes('redis-cli ping'))
    problems.push('redis: no redis-cli ping health check');

  // The hub nodes and the worker: one image, WORKERS=off, the shared DATA_DIR, Redis healthy first.
  const shared = new Set<string>();
  for (const name of HUB_SERVICES) {
    const service = services[name];
    const env = environment(service);
    const context = typeof service?.build === 'string' ? service.build : service?.build?.context;
    if (stripSlash(context ?? '') !== '.' && context !== './')
      problems.push(`${name}: not built from . (the Dockerfile)`);
    if (env.WORKERS !== 'off') problems.push(`${name}: WORKERS is ${env.WORKERS ?? 'unset'}, not off`);
    if (env.REDIS_URL !== 'redis://redis:6379') problems.push(`${name}: REDIS_URL is not redis://redis:6379`);
    if (env.TRUST_REGISTRY !== undefined || env.NODE_ENV === 'production') {
      problems.push(`${name}: not in development mode by default (TRUST_REGISTRY or NODE_ENV=production set)`);
    }
    const data = volumes(service).find((v) => v.target === dataDir);
    if (!data || !namedVolumes.has(data.source)) problems.push(`${name}: DATA_DIR (${dataDir}) is not a named volume`);
    else shared.add(data.source);
    if (!dependsHealthy(service, 'redis')) problems.push(`${name}: does not wait for redis to be healthy`);
  }
  if (shared.size > 1) problems.push(`hub nodes and worker use different DATA_DIR volumes: ${[...shared].join(', ')}`);
  for (const name of ['hub-1', 'hub-2']) {
    if (services[name]?.command !== undefined) problems.push(`${name}: command overrides the image's hub`);
  }
  const worker = services.worker;
  if (words(worker?.command).join(' ') !== 'node server/dist/worker.js') {
    problems.push('worker: command is not node server/dist/worker.js');
  }
  if (worker?.healthcheck?.disable !== true)
    problems.push('worker: the image /healthz check is not disabled (no HTTP)');

  // The load balancer: nginx with deploy/nginx.conf, on 127.0.0.1:8080 only.
  const lb = services.lb;
  if (!/^nginx(:|$)/.test(lb?.image ?? '')) problems.push(`lb: image ${lb?.image}, not nginx`);
  if (!volumes(lb).some((v) => stripSlash(v.source) === 'deploy/nginx.conf' && v.target === '/etc/nginx/nginx.conf')) {
    problems.push('lb: deploy/nginx.conf is not mounted as /etc/nginx/nginx.conf');
  }
  const ports = (lb?.ports ?? []).map(String);
  if (JSON.stringify(ports) !== JSON.stringify(['127.0.0.1:8080:8080'])) {
    problems.push(`lb: published as ${ports.join(', ') || 'nothing'}, not 127.0.0.1:8080:8080 alone`);
  }
  for (const name of Object.keys(services)) {
    if (name !== 'lb' && services[name]?.ports?.length) problems.push(`${name}: publishes a port (only lb may)`);
  }
  for (const name of ['hub-1', 'hub-2']) {
    if (!dependsHealthy(lb, name)) problems.push(`lb: does not wait for ${name} (nginx resolves it at start)`);
  }

  // Profile ha: a replica of redis and three Sentinels watching it.
  for (const name of HA_SERVICES) {
    if (JSON.stringify(services[name]?.profiles) !== '["ha"]') problems.push(`${name}: not in profile ha alone`);
  }
  const replica = words(services['redis-replica']?.command).join(' ');
  if (!replica.includes('--replicaof redis 6379')) problems.push('redis-replica: no --replicaof redis 6379');
  if (!replica.includes('--maxmemory-policy noeviction'))
    problems.push('redis-replica: no noeviction (it may be promoted)');
  const sentinelVolumes = new Set<string>();
  for (const name of HA_SERVICES.filter((n) => n.startsWith('redis-sentinel'))) {
    const service = services[name];
    const command = words(service?.command);
    const conf = command.find((word) => word.endsWith('.conf'));
    if (!command.includes('--sentinel') || !conf) problems.push(`${name}: not redis-server <conf> --sentinel`);
    // Sentinels rewrite their file: it must not be the read-only mount, and each needs its own.
    const mounts = volumes(service);
    const writable = mounts.find((v) => conf?.startsWith(`${v.target}/`) && !v.readOnly && namedVolumes.has(v.source));
    if (!writable) problems.push(`${name}: its configuration ${conf} is not on a writable volume of its own`);
    else if (sentinelVolumes.has(writable.source)) problems.push(`${name}: shares volume ${writable.source}`);
    else sentinelVolumes.add(writable.source);
    if (!mounts.some((v) => stripSlash(v.source) === 'deploy/sentinel.conf' && v.readOnly)) {
      problems.push(`${name}: deploy/sentinel.conf is not mounted (read-only) as its template`);
    }
  }
  const monitor = /^sentinel monitor (\S+) (\S+) (\d+) (\d+)$/m.exec(files.sentinel);
  if (monitor?.[2] !== 'redis' || monitor[3] !== '6379' || Number(monitor[4]) !== 2) {
    problems.push('sentinel.conf: does not monitor redis 6379 with quorum 2');
  }
  if (!/^sentinel resolve-hostnames yes$/m.test(files.sentinel))
    problems.push('sentinel.conf: no resolve-hostnames yes');

  // docker-compose.ha.yml: the hub and the worker on the Sentinels, with replicated durability.
  const sentinels = HA_SERVICES.filter((n) => n.startsWith('redis-sentinel')).map((n) => `${n}:26379`);
  for (const name of HUB_SERVICES) {
    const env = environment(ha.services?.[name]);
    if (env.REDIS_SENTINELS?.split(',').sort().join(',') !== sentinels.sort().join(',')) {
      problems.push(`docker-compose.ha.yml ${name}: REDIS_SENTINELS does not list the three Sentinels`);
    }
    if (env.REDIS_SENTINEL_NAME !== monitor?.[1]) {
      problems.push(`docker-compose.ha.yml ${name}: REDIS_SENTINEL_NAME is not sentinel.conf's ${monitor?.[1]}`);
    }
    if (env.DURABILITY !== 'replicated') problems.push(`docker-compose.ha.yml ${name}: DURABILITY is not replicated`);
  }
  for (const name of Object.keys(ha.services ?? {})) {
    if (!services[name]) problems.push(`docker-compose.ha.yml: ${name} is not a service of docker-compose.yml`);
  }

  // Every variable given to the hub's image is one the hub reads (a misspelt one is silently ignored).
  const known = configNames(files.config);
  const given = [
    ...Object.entries(services).filter(([, s]) => s.build !== undefined || s.image?.startsWith('ncp-hub')),
    ...Object.entries(ha.services ?? {}),
  ].flatMap(([name, service]) => Object.keys(environment(service)).map((variable) => [name, variable] as const));
  const imageEnv = (parseDockerfile(files.dockerfile).at(-1)?.instructions ?? [])
    .filter((i) => i.keyword === 'ENV')
    .flatMap((i) => envPairs(i.args).map(([variable]) => ['Dockerfile', variable] as const));
  for (const [where, variable] of [...given, ...imageEnv]) {
    if (!known.has(variable)) problems.push(`${where}: ${variable} is not read by server/src/config.ts`);
  }
  return problems;
}

function lintNginx(text: string): string[] {
  const problems: string[] = [];
  const upstream = /upstream\s+(\S+)\s*\{([^}]*)\}/.exec(text);
  const body = upstream?.[2] ?? '';
  if (!/^\s*(ip_hash|hash\s+\S+)[^;]*;/m.test(body))
    problems.push('nginx: the upstream is not sticky (ip_hash or hash)');
  for (const node of ['hub-1:8080', 'hub-2:8080']) {
    if (!new RegExp(`server\\s+${node}\\b`).test(body)) problems.push(`nginx: ${node} is not in the upstream`);
  }
  const socket = /location\s+\/socket\.io\/\s*\{([^}]*)\}/.exec(text)?.[1];
  if (socket === undefined) problems.push('nginx: no location /socket.io/');
  else {
    if (!socket.includes(`proxy_pass http://${upstream?.[1]}`))
      problems.push('nginx: /socket.io/ is not passed to the upstream');
    if (!/proxy_http_version 1\.1;/.test(socket)) problems.push('nginx: /socket.io/ without proxy_http_version 1.1');
    if (!/proxy_set_header Upgrade \$http_upgrade;/.test(socket))
      problems.push('nginx: /socket.io/ does not pass Upgrade');
    if (!/proxy_set_header Connection \$\w+;/.test(socket))
      problems.push('nginx: /socket.io/ does not pass Connection');
    if (!/proxy_set_header Host \$http_host;/.test(socket))
      problems.push('nginx: /socket.io/ does not pass Host (Origin check)');
    const timeout = /proxy_read_timeout (\d+)([smh]?);/.exec(socket);
    const seconds = timeout ? Number(timeout[1]) * ({ s: 1, m: 60, h: 3600 }[timeout[2] || 's'] ?? 1) : 60;
    // Engine.IO pings every 25 s: nginx's default 60 s would do, barely; a long one is asked for.
    if (seconds < 300) problems.push(`nginx: /socket.io/ proxy_read_timeout is ${seconds} s, under 300`);
  }
  if (!/listen 8080;/.test(text)) problems.push('nginx: does not listen on 8080');
  return problems;
}

/** The README's "Deployment" section against the files it describes. */
function lintReadme(files: Files): string[] {
  const problems: string[] = [];
  const section = /^## Deployment\n([\s\S]*?)^## /m.exec(files.readme)?.[1];
  if (section === undefined) return ['README: no "## Deployment" section'];
  const compose = parseCompose(files.compose);
  const mentioned = (name: string) =>
    section.includes(`\`${name}\``) ||
    section.includes(`\`${name.replace(/-\d(?=$|-)/, '-N')}\``) ||
    (/-\d$/.test(name) && section.includes(`\`${name.replace(/\d$/, '1..3')}\``));
  for (const name of [...Object.keys(compose.services ?? {}), ...Object.keys(compose.volumes ?? {})]) {
    if (!mentioned(name)) problems.push(`README Deployment: ${name} is not named`);
  }
  // The command that starts profile ha, as the two compose files' comments give it.
  const haCommand = (text: string) => /docker compose -f [^\n]*--profile ha up -d/.exec(text)?.[0];
  const command = haCommand(files.compose);
  if (!command || command !== haCommand(files.composeHa) || command !== haCommand(section)) {
    problems.push("README Deployment: the profile ha command differs from the compose files' comments");
  }
  const snippet = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const override = snippet === undefined ? undefined : parseCompose(snippet);
  if (!override) problems.push('README Deployment: no docker-compose.override.yml example');
  const known = configNames(files.config);
  for (const [name, service] of Object.entries(override?.services ?? {})) {
    if (!(HUB_SERVICES as readonly string[]).includes(name))
      problems.push(`README override: ${name} is not a hub service`);
    for (const variable of Object.keys(environment(service))) {
      if (!known.has(variable)) problems.push(`README override: ${variable} is not read by server/src/config.ts`);
    }
  }
  for (const variable of ['TRUST_REGISTRY', 'HUB_KEY_FILE', 'NODE_ENV']) {
    if (!Object.values(override?.services ?? {}).every((service) => environment(service)[variable] !== undefined)) {
      problems.push(`README override: ${variable} is not set on every hub service`);
    }
  }
  const published = (compose.services?.lb?.ports ?? []).map(String)[0]?.split(':').slice(0, 2).join(':');
  if (!published || !section.includes(published))
    problems.push(`README Deployment: the published address ${published} is not given`);
  if (/\bip_hash;/.test(files.nginx) !== section.includes('ip_hash'))
    problems.push("README Deployment: the stickiness is not nginx.conf's");
  return problems;
}

// --- docker-compose itself ------------------------------------------------------------------

/** Why `docker-compose config` cannot run here, or undefined; under CI a missing binary is no reason (.ci/run installs it). */
function dockerComposeSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  const probe = spawnSync('docker-compose', ['version'], { encoding: 'utf8' });
  return probe.error ? 'no docker-compose (apt-get install docker-compose); set CI=true to fail instead' : undefined;
}

describe('the deployment files', () => {
  it('Dockerfile: multi-stage on node:20 slim, production dependencies, tini, non-root, /healthz', () => {
    expect(lintDockerfile(FILES.dockerfile)).toEqual([]);
    expect(lintDockerignore(FILES.dockerignore)).toEqual([]);
  });

  it('docker-compose.yml, docker-compose.ha.yml, deploy/: the services, profile ha, the hub variables', () => {
    expect(lintCompose(FILES)).toEqual([]);
    expect(lintNginx(FILES.nginx)).toEqual([]);
  });

  it('README: the Deployment section names the services, volumes and commands of the files', () => {
    expect(lintReadme(FILES)).toEqual([]);
  });

  // Each check fires on a copy of the files with its defect put in.
  const defects: Array<{ defect: string; file: keyof Files; from: string | RegExp; to: string; problem: RegExp }> = [
    {
      defect: 'one stage',
      file: 'dockerfile',
      from: /FROM node:20-bookworm-slim AS build[\s\S]*?FROM/,
      to: 'FROM',
      problem: /not a multi-stage build/,
    },
    {
      defect: 'another base',
      file: 'dockerfile',
      from: 'FROM node:20-bookworm-slim AS runtime',
      to: 'FROM node:22 AS runtime',
      problem: /node:22: not a node:20 slim/,
    },
    { defect: 'root', file: 'dockerfile', from: 'USER node', to: 'USER root', problem: /USER root is root/ },
    { defect: 'no user', file: 'dockerfile', from: 'USER node', to: '', problem: /no USER/ },
    {
      defect: 'probe elsewhere',
      file: 'dockerfile',
      from: "'/healthz'",
      to: "'/readyz'",
      problem: /does not request \/healthz/,
    },
    {
      defect: 'curl probe',
      file: 'dockerfile',
      from: /HEALTHCHECK[^\n]*\\\n[^\n]*/,
      to: 'HEALTHCHECK CMD curl -f http://127.0.0.1:8080/healthz',
      problem: /curl or wget/,
    },
    {
      defect: 'no tini',
      file: 'dockerfile',
      from: 'ENTRYPOINT ["/usr/bin/tini", "--"]',
      to: '',
      problem: /ENTRYPOINT is not tini/,
    },
    {
      defect: 'tini not installed',
      file: 'dockerfile',
      from: 'install -y --no-install-recommends tini',
      to: 'install -y --no-install-recommends ca-certificates',
      problem: /no apt-get install/,
    },
    {
      defect: 'dev dependencies',
      file: 'dockerfile',
      from: 'npm ci --omit=dev',
      to: 'npm ci',
      problem: /installs dev dependencies/,
    },
    {
      defect: 'prepare runs',
      file: 'dockerfile',
      from: 'npm ci --omit=dev --ignore-scripts',
      to: 'npm ci --omit=dev',
      problem: /prepare script/,
    },
    {
      defect: 'node_modules copied',
      file: 'dockerfile',
      from: 'COPY --from=build /app/server/dist server/dist',
      to: 'COPY --from=build /app/server/dist server/dist\nCOPY --from=build /app/node_modules node_modules',
      problem: /copies node_modules/,
    },
    {
      defect: 'a package not built in',
      file: 'dockerfile',
      from: 'COPY --from=build /app/crypto/dist crypto/dist',
      to: '',
      problem: /crypto\/dist is not copied/,
    },
    {
      defect: 'no console',
      file: 'dockerfile',
      from: 'COPY --from=build /app/console/dist console/dist',
      to: '',
      problem: /console\/dist is not copied/,
    },
    {
      defect: 'no key CLI',
      file: 'dockerfile',
      from: 'COPY keys/bin keys/bin',
      to: '',
      problem: /bin folder keys\/bin/,
    },
    {
      defect: 'a manifest missing',
      file: 'dockerfile',
      from: 'COPY keys/package.json keys/\nCOPY client-sdk/package.json client-sdk/\nCOPY server/package.json server/\nCOPY console/package.json console/\nCOPY tools/api-docs/package.json tools/api-docs/\n# Production',
      to: 'COPY client-sdk/package.json client-sdk/\nCOPY server/package.json server/\nCOPY console/package.json console/\nCOPY tools/api-docs/package.json tools/api-docs/\n# Production',
      problem: /stage 2: keys\/package.json is not copied/,
    },
    {
      defect: 'no console build',
      file: 'dockerfile',
      from: ' && npm run console:build',
      to: '',
      problem: /runs npm run console:build/,
    },
    { defect: 'port', file: 'dockerfile', from: 'EXPOSE 8080', to: 'EXPOSE 3000', problem: /EXPOSE 8080 missing/ },
    {
      defect: 'loopback',
      file: 'dockerfile',
      from: 'HOST=0.0.0.0',
      to: 'HOST=127.0.0.1',
      problem: /ENV HOST is 127.0.0.1/,
    },
    {
      defect: 'command',
      file: 'dockerfile',
      from: 'CMD ["node", "server/dist/main.js"]',
      to: 'CMD ["npm", "start"]',
      problem: /CMD is/,
    },
    {
      defect: 'dist in the context',
      file: 'dockerignore',
      from: '**/dist\n',
      to: 'dist\n',
      problem: /\*\*\/dist missing/,
    },
    {
      defect: 'AOF off',
      file: 'compose',
      from: '--appendonly\n      - "yes"',
      to: '--appendonly\n      - "no"',
      problem: /redis: no --appendonly yes/,
    },
    {
      defect: 'eviction',
      file: 'compose',
      from: '--maxmemory-policy\n      - noeviction\n      # Its',
      to: '--maxmemory-policy\n      - allkeys-lru\n      # Its',
      problem: /redis: no --maxmemory-policy/,
    },
    {
      defect: 'redis in a container layer',
      file: 'compose',
      from: '- redis-data:/data',
      to: '- /data',
      problem: /redis: \/data is not a named volume/,
    },
    {
      defect: 'no redis check',
      file: 'compose',
      from: 'test: ["CMD", "redis-cli", "ping"]\n      interval: 5s\n      timeout: 3s\n      retries: 10\n\n  hub-1',
      to: 'test: ["CMD", "true"]\n\n  hub-1',
      problem: /redis: no redis-cli ping/,
    },
    {
      defect: 'embedded workers',
      file: 'compose',
      from: 'WORKERS: "off"',
      to: 'WORKERS: embedded',
      problem: /hub-1: WORKERS is embedded/,
    },
    {
      defect: 'a data folder each',
      file: 'compose',
      from: '  hub-2:\n    <<: *hub\n',
      to: '  hub-2:\n    <<: *hub\n    volumes:\n      - hub-2-data:/data\n',
      problem: /different DATA_DIR volumes|hub-2: DATA_DIR/,
    },
    {
      defect: 'a real registry by default',
      file: 'compose',
      from: 'WORKERS: "off"',
      to: 'WORKERS: "off"\n    TRUST_REGISTRY: /registry',
      problem: /not in development mode/,
    },
    {
      defect: 'no wait for redis',
      file: 'compose',
      from: '  depends_on:\n    redis:\n      condition: service_healthy\n\nservices',
      to: '\nservices',
      problem: /hub-1: does not wait for redis/,
    },
    {
      defect: 'worker as hub',
      file: 'compose',
      from: '    command: ["node", "server/dist/worker.js"]\n',
      to: '',
      problem: /worker: command/,
    },
    {
      defect: 'worker probed',
      file: 'compose',
      from: '    healthcheck:\n      disable: true\n',
      to: '',
      problem: /worker: the image \/healthz check/,
    },
    {
      defect: 'published on every address',
      file: 'compose',
      from: '"127.0.0.1:8080:8080"',
      to: '"8080:8080"',
      problem: /lb: published as 8080:8080/,
    },
    {
      defect: 'a node published',
      file: 'compose',
      from: '  hub-1:\n    <<: *hub\n',
      to: '  hub-1:\n    <<: *hub\n    ports: ["8081:8080"]\n',
      problem: /hub-1: publishes a port/,
    },
    {
      defect: 'nginx config elsewhere',
      file: 'compose',
      from: './deploy/nginx.conf:/etc/nginx/nginx.conf:ro',
      to: './nginx.conf:/etc/nginx/nginx.conf:ro',
      problem: /lb: deploy\/nginx.conf is not mounted/,
    },
    {
      defect: 'replica always on',
      file: 'compose',
      from: '  redis-replica:\n    image: redis:7\n    profiles: ["ha"]\n',
      to: '  redis-replica:\n    image: redis:7\n',
      problem: /redis-replica: not in profile ha|services without a profile/,
    },
    {
      defect: 'replica of nothing',
      file: 'compose',
      from: '- --replicaof\n      - redis\n',
      to: '',
      problem: /no --replicaof redis 6379/,
    },
    {
      defect: 'sentinel on the read-only file',
      file: 'compose',
      from: 'command: ["redis-server", "/data/sentinel.conf", "--sentinel"]',
      to: 'command: ["redis-server", "/etc/ncp/sentinel.conf", "--sentinel"]',
      problem: /redis-sentinel-1: its configuration \/etc\/ncp\/sentinel.conf is not on a writable volume/,
    },
    {
      defect: 'sentinels share a volume',
      file: 'compose',
      from: '- sentinel-3-data:/data',
      to: '- sentinel-2-data:/data',
      problem: /redis-sentinel-3: shares volume sentinel-2-data/,
    },
    {
      defect: 'quorum of one',
      file: 'sentinel',
      from: 'sentinel monitor ncp redis 6379 2',
      to: 'sentinel monitor ncp redis 6379 1',
      problem: /quorum 2/,
    },
    {
      defect: 'another master name',
      file: 'sentinel',
      from: 'sentinel monitor ncp redis',
      to: 'sentinel monitor mymaster redis',
      problem: /REDIS_SENTINEL_NAME is not sentinel.conf's mymaster/,
    },
    {
      defect: 'two sentinels listed',
      file: 'composeHa',
      from: ',redis-sentinel-3:26379',
      to: '',
      problem: /REDIS_SENTINELS does not list/,
    },
    {
      defect: 'local durability',
      file: 'composeHa',
      from: 'DURABILITY: replicated',
      to: 'DURABILITY: local',
      problem: /DURABILITY is not replicated/,
    },
    {
      defect: 'a misspelt variable',
      file: 'compose',
      from: 'WORKERS: "off"',
      to: 'WORKERS: "off"\n    REDIS_URI: redis://redis:6379',
      problem: /REDIS_URI is not read by server\/src\/config.ts/,
    },
    { defect: 'not sticky', file: 'nginx', from: 'ip_hash;', to: '', problem: /not sticky/ },
    {
      defect: 'no upgrade',
      file: 'nginx',
      from: 'proxy_set_header Upgrade $http_upgrade;',
      to: '',
      problem: /does not pass Upgrade/,
    },
    {
      defect: 'Host lost',
      file: 'nginx',
      from: 'proxy_set_header Host $http_host;\n      proxy_set_header Upgrade',
      to: 'proxy_set_header Upgrade',
      problem: /does not pass Host/,
    },
    {
      defect: 'short timeout',
      file: 'nginx',
      from: 'proxy_read_timeout 1h;',
      to: 'proxy_read_timeout 60s;',
      problem: /proxy_read_timeout is 60 s/,
    },
    {
      defect: 'a service the README omits',
      file: 'compose',
      from: '  lb:\n',
      to: '  proxy:\n',
      problem: /README Deployment: proxy is not named/,
    },
    {
      defect: 'another ha command',
      file: 'readme',
      from: 'docker compose -f docker-compose.yml -f docker-compose.ha.yml --profile ha up -d',
      to: 'docker compose --profile ha up -d',
      problem: /profile ha command differs/,
    },
    {
      defect: 'a README variable the hub ignores',
      file: 'readme',
      from: 'TRUST_REGISTRY: /registry',
      to: 'TRUST_REGISTRY: /registry\n    REGISTRY_DIR: /registry',
      problem: /README override: REGISTRY_DIR is not read/,
    },
    {
      defect: 'README stickiness',
      file: 'nginx',
      from: 'ip_hash;',
      to: 'hash $remote_addr consistent;',
      problem: /stickiness is not nginx.conf's/,
    },
    {
      defect: 'one node',
      file: 'nginx',
      from: 'server hub-2:8080',
      to: 'server hub-1:8081',
      problem: /hub-2:8080 is not in the upstream/,
    },
  ];
  it.each(defects)('a defect is caught: $defect', ({ file, from, to, problem }) => {
    const broken = { ...FILES, [file]: FILES[file].replace(from, to) };
    expect(broken[file], 'the defect applies to the file as it is').not.toBe(FILES[file]);
    const problems = [
      ...lintDockerfile(broken.dockerfile),
      ...lintDockerignore(broken.dockerignore),
      ...lintCompose(broken),
      ...lintNginx(broken.nginx),
      ...lintReadme(broken),
    ];
    expect(
      problems.some((line) => problem.test(line)),
      problems.join('\n'),
    ).toBe(true);
  });

  const skipReason = dockerComposeSkipReason();
  if (skipReason) console.log(`skipped: docker-compose config: ${skipReason}`);
  it.skipIf(skipReason !== undefined).each([
    { files: ['docker-compose.yml'], profile: [] },
    { files: ['docker-compose.yml'], profile: ['--profile', 'ha'] },
    { files: ['docker-compose.yml', 'docker-compose.ha.yml'], profile: ['--profile', 'ha'] },
  ])('docker-compose config -q accepts $files $profile', ({ files, profile }) => {
    const args = [...files.flatMap((file) => ['-f', file]), ...profile, 'config', '-q'];
    const run = spawnSync('docker-compose', args, { cwd: ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });
});
