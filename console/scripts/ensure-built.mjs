// Builds the console (console/dist) when its index.html is missing, so that `npm start` on a
// fresh clone serves it; a console already built is left as it is (`npm run console:build`
// builds it again).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
if (existsSync(join(root, 'dist', 'index.html'))) process.exit(0);
console.log('console/dist/index.html is missing: building the console (npm run console:build)');
const { build } = await import('vite');
await build({ root, configFile: join(root, 'vite.config.ts') });
