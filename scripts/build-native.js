#!/usr/bin/env node
// The npm `install` script: builds the optional native addons (native/: recvmmsg/sendmmsg UDP,
// and giving freed store memory back to the kernel) with node-gyp. It never fails the install: without the addon swarmd uses node:dgram, so any
// failure is one line saying so (node-gyp's output goes to native/build-native.log).
// SWARMD_SKIP_NATIVE=1 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const nativeDir = join(root, 'native');
const logFile = join(nativeDir, 'build-native.log');
const addonFile = join(nativeDir, 'build', 'Release', 'swarmd_udp.node');

function useDgram(why) {
  console.log(`swarmd: native UDP addon not built (${why}); swarmd will use node:dgram for UDP (slower, works the same).`);
  process.exit(0);
}

if (process.env.SWARMD_SKIP_NATIVE) useDgram('SWARMD_SKIP_NATIVE is set');
if (process.platform !== 'linux') useDgram(`recvmmsg/sendmmsg are Linux-only, this is ${process.platform}`);

// node-gyp: npm names it in npm_config_node_gyp and puts it on PATH for lifecycle scripts;
// run by hand, npm's own copy (found from npm on PATH).
function nodeGyp() {
  const js = process.env.npm_config_node_gyp;
  if (js && existsSync(js)) return [process.execPath, [js]];
  const onPath = (name) =>
    (process.env.PATH ?? '')
      .split(delimiter)
      .map((dir) => join(dir, name))
      .find((file) => existsSync(file));
  if (onPath('node-gyp')) return ['node-gyp', []];
  // npm-cli.js lives in npm/bin/, node-gyp in npm/node_modules/
  for (const npmCli of [process.env.npm_execpath, onPath('npm')]) {
    if (!npmCli) continue;
    const bundled = join(dirname(realpathSync(npmCli)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(bundled)) return [process.execPath, [bundled]];
  }
  return ['node-gyp', []];
}

// Headers: the addon uses Node-API only, so any Node's headers build a binary every Node
// loads. npm passes its nodedir setting (npm_config_nodedir); without one, use headers already
// on this machine rather than letting node-gyp download them.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const candidates = [join(dirname(process.execPath), '..'), '/usr', '/usr/local'];
  const found = candidates.find((dir) => existsSync(join(dir, 'include', 'node', 'node_api.h')));
  return found ? [`--nodedir=${found}`] : [];
}

const [cmd, pre] = nodeGyp();
const args = [...pre, 'rebuild', '--directory', nativeDir, ...nodedirArgs()];
const run = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 300_000, env: process.env });
const output = `$ ${cmd} ${args.join(' ')}\n${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}\n`;
try {
  writeFileSync(logFile, output);
} catch {
  // a read-only tree: the one line below still says what happened
}
if (run.error || run.status !== 0 || !existsSync(addonFile)) {
  const why = run.error ? `${run.error.code === 'ENOENT' ? 'node-gyp not found' : run.error.message}` : `node-gyp failed, see native/build-native.log`;
  useDgram(why);
}

// Built: check that this Node loads it, so a broken binary is reported now, not at startup.
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addonFile)})`], { encoding: 'utf8' });
if (check.status !== 0) {
  rmSync(addonFile, { force: true });
  useDgram(
    `it built but does not load: ${
      (check.stderr || '')
        .trim()
        .split('\n')
        .find((l) => /Error/.test(l)) ?? 'unknown error'
    }`,
  );
}
console.log(`swarmd: built the native UDP addon (recvmmsg/sendmmsg): ${addonFile}`);
const memoryFile = join(nativeDir, 'build', 'Release', 'swarmd_memory.node');
if (existsSync(memoryFile)) console.log(`swarmd: built the native memory addon (freed store memory goes back to the kernel): ${memoryFile}`);
