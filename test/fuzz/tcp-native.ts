// Hostile HTTP input against the native TCP layer alone (native/tcp_batch.c under
// test/helpers/tcp-native-server.ts: swarmd's head parser, echo answers, net for what is handed
// over), with a valid request checked between bursts. `npm run fuzz -- --tcp-native [--asan]`
// runs it; --asan loads the AddressSanitizer build of the addon (SWARMD_NATIVE_ASAN=1 node
// scripts/build-native.js, made here when missing) into a server process started with libasan
// preloaded, and any sanitizer report there fails the run.
//   node test/fuzz/tcp-native.ts server    (prints "READY <port>"; counters on SIGTERM)

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { get } from '../helpers/http-client.ts';
import { startNativeTestServer } from '../helpers/tcp-native-server.ts';
import type { FuzzResult } from './hostile-input.ts';
import { hostileHttp, rng } from './hostile-input.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const ASAN_ADDON = `${root}native/build-asan/build/Release/swarmd_tcp.node`;

/** Throws `requests` hostile requests at the port, checking a valid one every `checkEvery`. */
export async function fuzzNativeTcp(port: number, requests: number, seed: number, checkEvery = 500): Promise<FuzzResult> {
  const result: FuzzResult = { datagrams: 0, requests: 0, validAnswered: 0, validWrong: [], httpHung: 0, httpHungRequests: [] };
  const check = async (n: number) => {
    try {
      const r = await get('127.0.0.1', port, `/announce?n=${n}`);
      if (r.status === 200 && /^(native 4 127\.0\.0\.1|net 127\.0\.0\.1) \d+ \/announce\?n=\d+$/.test(r.body.toString('latin1'))) result.validAnswered++;
      else result.validWrong.push(`request ${n}: ${r.status} ${r.body.toString('latin1').slice(0, 80)}`);
    } catch (err) {
      result.validWrong.push(`request ${n}: ${(err as Error).message}`);
    }
  };
  await hostileHttp({ port, requests, r: rng(seed), result, checkEvery, check });
  await check(requests + 1);
  return result;
}

export type NativeFuzzRun = FuzzResult & { seed: number; counters: Record<string, number> | null; sanitizer: string[]; serverExit: string };

/** The server in its own process (with libasan preloaded for --asan), the fuzzer here. */
export async function runNativeTcpFuzz(opts: { requests: number; seed: number; asan: boolean }): Promise<NativeFuzzRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.asan) {
    if (!existsSync(ASAN_ADDON))
      spawnSync(process.execPath, [`${root}scripts/build-native.js`], { stdio: 'inherit', env: { ...process.env, SWARMD_NATIVE_ASAN: '1' } });
    if (!existsSync(ASAN_ADDON)) throw new Error(`the AddressSanitizer build failed: see ${root}native/build-asan/build-native.log`);
    const libasan = spawnSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim();
    if (!libasan.startsWith('/')) throw new Error('libasan.so not found (gcc -print-file-name=libasan.so)');
    // Node itself isn't instrumented and keeps memory until exit: leaks are not this addon's findings.
    Object.assign(env, { LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0:halt_on_error=1', SWARMD_TCP_ADDON: ASAN_ADDON });
  }
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (err += d));
  const exited = new Promise<string>((resolve) => server.once('exit', (code, signal) => resolve(signal ?? String(code))));
  const port = await new Promise<number>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /READY (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    }, 20);
    void exited.then((how) => reject(new Error(`the fuzz server exited (${how}) before listening: ${err.slice(0, 2000)}`))).finally(() => clearInterval(poll));
  });
  const result = await fuzzNativeTcp(port, opts.requests, opts.seed);
  server.kill('SIGTERM');
  const serverExit = await exited;
  const counters = /COUNTERS (.*)/.exec(out);
  return {
    ...result,
    seed: opts.seed,
    counters: counters ? (JSON.parse(counters[1]!) as Record<string, number>) : null,
    sanitizer: err.split('\n').filter((l) => /AddressSanitizer|LeakSanitizer|runtime error/.test(l)),
    serverExit,
  };
}

if (process.argv[2] === 'server' && import.meta.url === `file://${process.argv[1]}`) {
  const s = await startNativeTestServer({ maxConnections: 1000, headerTimeout: 1, idleTimeout: 2, maxRequestBytes: 8192 });
  process.stdout.write(`READY ${s.port}\n`);
  process.once('SIGTERM', () => {
    process.stdout.write(`COUNTERS ${JSON.stringify(s.server.counters)}\n`);
    void s.close().then(() => process.exit(0));
  });
}
