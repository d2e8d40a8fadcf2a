#!/usr/bin/env node
// `npm run build` (and `prepack`): the JavaScript the published package runs. Node strips types
// only outside node_modules, so an installed swarmd can't run src/*.ts: tsc emits src/ to dist/
// at the same depth (tsconfig.build.json: only types stripped, `.ts` imports rewritten to
// `.js`), then every other file under src/ (the dashboard's page, script and CSS) is copied
// beside it. dist/ is rebuilt from scratch each time, so no stale file is ever packed.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`build: tsc failed (exit ${run.status ?? run.signal})`);
  process.exit(1);
}
cpSync(join(root, 'src'), dist, {
  recursive: true,
  filter: (file) => !file.endsWith('.ts'),
});
console.log(`build: ${dist}`);
