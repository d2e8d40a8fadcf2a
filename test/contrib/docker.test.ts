// The container image, on a machine without a container engine: the Dockerfile's structure is
// checked (hadolint is neither in Debian 12 nor on npm, so the rules are ours), its build stage's
// script runs as is on a stand-in Node.js 24 in a copy of the build context, and the result
// runs as the runtime stage would run it: its ENTRYPOINT and CMD as an unprivileged user with a
// private state directory, its HEALTHCHECK command against it. compose.yaml is read with
// Debian's python3-yaml and each node's command checked by swarmd --check-config.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, announceOverHttpAndUdp, copySource, freshEnv, run, systemNodeBin, workDir } from '../helpers/package.ts';
import { freePort, startSwarmd } from '../helpers/swarmd-process.ts';

type Instruction = { op: string; args: string; stage: number };

/** The Dockerfile's instructions (continuation lines joined, comments dropped), with their stage. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  for (const logical of text.replace(/\\\n/g, ' ').split('\n')) {
    const line = logical.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `an instruction: ${line}`);
    if (m[1] === 'FROM') stage++;
    out.push({ op: m[1]!, args: m[2]!.replace(/\s+/g, ' '), stage });
  }
  return out;
}

const DOCKERFILE = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const final = (op: string) => DOCKERFILE.filter((i) => i.op === op && i.stage === 1);
const json = (args: string) => JSON.parse(args.replace(/^CMD /, '')) as string[];
/** Paths of the image, moved into the test's directory. */
const mover = (base: string) => (s: string) =>
  s.replaceAll('/opt/swarmd', join(base, 'opt/swarmd')).replaceAll('/var/lib/swarmd', join(base, 'var/lib/swarmd'));
const NOBODY = 65534;
const asNobody = process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {};

describe('Dockerfile', () => {
  test('two stages on the official Node.js 24 slim image, a compiler in the build stage only', () => {
    assert.equal(DOCKERFILE[0]!.op, 'ARG');
    assert.equal(DOCKERFILE[0]!.args, 'NODE_IMAGE=node:24-slim');
    const froms = DOCKERFILE.filter((i) => i.op === 'FROM').map((i) => i.args);
    assert.deepEqual(froms, ['${NODE_IMAGE} AS build', '${NODE_IMAGE}']);
    const buildRuns = DOCKERFILE.filter((i) => i.op === 'RUN' && i.stage === 0).map((i) => i.args);
    assert.match(buildRuns[0]!, /apt-get update && apt-get install -y --no-install-recommends python3 make g\+\+ && rm -rf \/var\/lib\/apt\/lists\/\*/);
    assert.ok(buildRuns.includes('sh contrib/docker/build.sh /opt/swarmd'));
    assert.doesNotMatch(
      final('RUN')
        .map((i) => i.args)
        .join('\n'),
      /apt-get|g\+\+/,
      'no compiler in the runtime image',
    );
    assert.equal(DOCKERFILE.filter((i) => i.op === 'ADD').length, 0, 'COPY, not ADD');
    assert.doesNotMatch(DOCKERFILE.map((i) => i.args).join('\n'), /:latest\b|\bcurl\b|\bwget\b/);
  });

  test('the runtime stage: a non-root user, 6969 tcp and udp, a volume, an exec-form health check and entrypoint', () => {
    assert.deepEqual(
      final('USER').map((i) => i.args),
      ['swarmd'],
    );
    assert.ok(DOCKERFILE.indexOf(final('USER')[0]!) < DOCKERFILE.indexOf(final('ENTRYPOINT')[0]!), 'USER before ENTRYPOINT');
    assert.match(final('RUN')[0]!.args, /useradd --system --gid swarmd .*install -d -o swarmd -g swarmd -m 0750 \/var\/lib\/swarmd/);
    assert.deepEqual(
      final('EXPOSE').map((i) => i.args),
      ['6969/tcp 6969/udp'],
    );
    assert.deepEqual(
      final('VOLUME').map((i) => json(i.args)),
      [['/var/lib/swarmd']],
    );
    assert.match(final('HEALTHCHECK')[0]!.args, /^--interval=\S+ --timeout=\S+ --start-period=\S+ --retries=\d+ CMD \[/);
    assert.deepEqual(json(final('ENTRYPOINT')[0]!.args), ['swarmd']);
    assert.deepEqual(json(final('CMD')[0]!.args), ['--state-file', '/var/lib/swarmd/swarmd.state']);
    for (const ignored of ['node_modules', 'dist', 'native/build', '.git']) {
      assert.match(readFileSync(join(ROOT, '.dockerignore'), 'utf8'), new RegExp(`^${ignored.replace('.', '\\.')}$`, 'm'));
    }
  });
});

describe("the image's steps, run as a script", { timeout: 420_000 }, () => {
  const work = workDir('image');
  const move = mover(work.dir);
  let nodeBin = '';
  before(() => {
    nodeBin = systemNodeBin();
    // The build context: the checkout's files less .dockerignore's (none of which git tracks).
    const context = copySource(join(work.dir, 'src'));
    for (const ignored of readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))) {
      rmSync(join(context, ignored), { recursive: true, force: true });
    }
    const build = DOCKERFILE.find((i) => i.op === 'RUN' && i.args.startsWith('sh contrib/docker/build.sh'))!;
    run('sh', move(build.args).split(' ').slice(1), { cwd: context, env: freshEnv(nodeBin), stdio: ['ignore', 'pipe', 'pipe'], timeout: 360_000 });
    // What the runtime stage's RUN does to /var/lib/swarmd, and read access for the user.
    chmodSync(work.dir, 0o755);
    const state = join(work.dir, 'var/lib/swarmd');
    mkdirSync(join(work.dir, 'var/lib'), { recursive: true, mode: 0o755 });
    mkdirSync(state, { mode: 0o750 });
    if (asNobody.uid !== undefined) chownSync(state, NOBODY, NOBODY);
  });
  after(() => work.remove());

  test('ENTRYPOINT and CMD serve announces as an unprivileged user; HEALTHCHECK sees it; the state lands in the volume', async () => {
    const env = Object.fromEntries(final('ENV').flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, move(m[2]!)])));
    const port = await freePort();
    const runtimeEnv = freshEnv(`${move('/opt/swarmd/bin')}:${nodeBin}`, { NODE_COMPILE_CACHE: env.NODE_COMPILE_CACHE!, HOME: move('/var/lib/swarmd') });
    const command = [...json(final('ENTRYPOINT')[0]!.args), ...json(final('CMD')[0]!.args).map(move)];
    // Loopback only in tests: listeners given after the image's CMD, as `docker run IMAGE ...` would.
    const args = [...command.slice(1), '-i', '127.0.0.1', '-p', String(port), '-P', String(port), '--workers', '2'];
    const swarmd = await startSwarmd(join(move('/opt/swarmd/bin'), command[0]!), args, { cwd: move('/var/lib/swarmd'), env: runtimeEnv, ...asNobody });
    const health = () => {
      const check = /CMD (\[.*\])$/.exec(final('HEALTHCHECK')[0]!.args)![1]!;
      const [program, ...rest] = (JSON.parse(check) as string[]).map(move);
      return spawnSync(join(nodeBin, program!), rest, { env: { ...runtimeEnv, SWARMD_HEALTHCHECK: `127.0.0.1:${port}` }, encoding: 'utf8', ...asNobody });
    };
    try {
      if (asNobody.uid !== undefined) assert.match(readFileSync(`/proc/${swarmd.child.pid}/status`, 'utf8'), /^Uid:\s+65534\s/m);
      assert.equal(swarmd.lines.find((l) => l.msg === 'swarmd listening')!.udpIo, 'recvmmsg', 'the addons built in the build stage load');
      await announceOverHttpAndUdp(port, 'image');
      const healthy = health();
      assert.equal(healthy.status, 0, healthy.stderr);
    } finally {
      assert.equal(await swarmd.stop(), 0);
    }
    const down = health();
    assert.equal(down.status, 1);
    assert.match(down.stderr, /no answer|ECONNREFUSED/);
    const dump = join(move('/var/lib/swarmd'), 'swarmd.state');
    assert.ok(existsSync(dump), 'the state dump is in the volume');
    if (asNobody.uid !== undefined) assert.equal(statSync(dump).uid, NOBODY);
  });
});

describe('compose.yaml', () => {
  const PYTHON = '/usr/bin/python3';
  const yaml = spawnSync(PYTHON, ['-c', 'import yaml'], { stdio: 'ignore' }).status === 0;
  const skip = !yaml && (process.env.CI === 'true' ? false : 'python3-yaml missing (scripts/test-setup.sh installs it)');

  test('two swarmd nodes clustered through NATS, each command one swarmd accepts', { skip }, () => {
    const doc = JSON.parse(run(PYTHON, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(ROOT, 'compose.yaml')]));
    const services = doc.services as Record<
      string,
      { image?: string; build?: string; command?: string[]; ports?: string[]; volumes?: string[]; depends_on?: string[] }
    >;
    assert.match(services.nats!.image!, /^nats:\d/);
    const nodes = Object.entries(services).filter(([, s]) => s.image === 'swarmd');
    assert.equal(nodes.length, 2);
    assert.equal(nodes.filter(([, s]) => s.build === '.').length, 1, 'one builds the image, both run it');
    const hostPorts = new Set<string>();
    const work = workDir('compose');
    try {
      for (const [name, s] of nodes) {
        assert.ok(s.depends_on?.includes('nats'), `${name} waits for nats`);
        assert.ok(
          s.volumes?.some((v) => v.endsWith(':/var/lib/swarmd')),
          `${name} keeps its state on a volume`,
        );
        for (const p of s.ports!) hostPorts.add(p.split(':')[0]!);
        const args = s.command!;
        assert.equal(args[args.indexOf('--cluster-nats') + 1], 'nats://nats:4222');
        mkdirSync(join(work.dir, 'var/lib/swarmd'), { recursive: true }); // the volume
        const check = spawnSync(process.execPath, [join(ROOT, 'bin/swarmd.js'), '--check-config', ...args.map(mover(work.dir))], { encoding: 'utf8' });
        assert.equal(check.status, 0, `${name}: ${check.stderr}`);
      }
    } finally {
      work.remove();
    }
    assert.deepEqual([...hostPorts], ['6969', '6970']);
  });
});
