#!/usr/bin/env node
// Plain JavaScript so that an old Node can still read it and say what is wrong.
//
// Which code it runs: a checkout has src/ and runs it as TypeScript (Node strips the types);
// the npm package ships no src/, only dist/ (built by `npm run build` at prepack), because
// Node refuses to strip types under node_modules. So a checkout never runs a stale dist/.
import { existsSync } from 'node:fs';

const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `swarmd needs Node.js 24 or later; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      'Install Node.js 24 (Debian/NodeSource packages or the official binaries, see the README: "Running in production"),\n' +
      'or, in a checkout, run it through npm (npm start), which uses the Node.js 24 that npm install put in node_modules/.bin.\n',
  );
  process.exit(1);
}
// Keep the compiled sources' bytecode (and, from src/, the type-stripped text) on disk: every
// thread then starts without parsing them again (and from src/, without loading the TypeScript
// stripper: ~15 MiB less memory per thread). Worker threads inherit the setting through the
// environment.
const { enableCompileCache } = await import('node:module');
const cache = enableCompileCache?.();
if (cache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = cache.directory;
const source = new URL('../src/cli.ts', import.meta.url);
await import(existsSync(source) ? source.href : '../dist/cli.js');
