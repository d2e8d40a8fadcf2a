#!/usr/bin/env node
// The npm `install` script: builds the optional native addons (native/: recvmmsg/sendmmsg UDP,
// epoll TCP for the HTTP tracker, and giving freed store memory back to the kernel) with
// node-gyp. It never fails the install: without the addons swarmd uses node:dgram and node:net,
// so any failure is one line saying so (node-gyp's output goes to native/build-native.log).
// SWARMD_SKIP_NATIVE=1 skips the build.
// SWARMD_NATIVE_ASAN=1 instead builds them with AddressSanitizer into native/build-asan/ (the
// normal build is left alone), for `npm run fuzz -- --tcp-native --asan`; load them with
// LD_PRELOAD=$(gcc -print-file-name=libasan.so) and SWARMD_TCP_ADDON / SWARMD_UDP_ADDON.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const asan = process.env.SWARMD_NATIVE_ASAN === '1';
const sourceDir = join(root, 'native');
// The ASan build compiles copies of the sources in their own directory, so node-gyp's build/ there
// never replaces the normal one.
const nativeDir = asan ? join(sourceDir, 'build-asan') : sourceDir;
if (asan) {
  mkdirSync(nativeDir, { recursive: true });
  for (const f of readdirSync(sourceDir)) if (/\.(c|h|gyp)$/.test(f)) copyFileSync(join(sourceDir, f), join(nativeDir, f));
}
const logFile = join(nativeDir, 'build-native.log');
const addonFile = join(nativeDir, 'build', 'Release', 'swarmd_udp.node');
const tcpFile = join(nativeDir, 'build', 'Release', 'swarmd_tcp.node');

function useDgram(why) {
  console.log(`swarmd: native addons not built (${why}); swarmd will use node:dgram for UDP and node:net for HTTP (slower, works the same).`);
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
// gyp's Makefiles add CFLAGS and LDFLAGS from the environment to every target's own flags.
const sanitize = '-fsanitize=address -fno-omit-frame-pointer -g';
const env = asan
  ? { ...process.env, CFLAGS: `${process.env.CFLAGS ?? ''} ${sanitize}`, LDFLAGS: `${process.env.LDFLAGS ?? ''} -fsanitize=address` }
  : process.env;
const run = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 300_000, env });
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

if (asan) {
  // Loading needs libasan first in the process: checked by the fuzz run that preloads it.
  console.log(`swarmd: built the native addons with AddressSanitizer in ${dirname(tcpFile)}`);
  process.exit(0);
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
const tcpCheck = existsSync(tcpFile) && spawnSync(process.execPath, ['-e', `require(${JSON.stringify(tcpFile)})`], { encoding: 'utf8' });
if (tcpCheck && tcpCheck.status === 0) console.log(`swarmd: built the native TCP addon (epoll, for HTTP): ${tcpFile}`);
else {
  rmSync(tcpFile, { force: true });
  console.log('swarmd: native TCP addon not built or not loading; swarmd will use node:net for HTTP (slower, works the same).');
}
const memoryFile = join(nativeDir, 'build', 'Release', 'swarmd_memory.node');
if (existsSync(memoryFile)) console.log(`swarmd: built the native memory addon (freed store memory goes back to the kernel): ${memoryFile}`);
