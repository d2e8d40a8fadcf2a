#!/usr/bin/env node
// Plain JavaScript so that an old Node can still read it and say what is wrong.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `swarmd needs Node.js 24 or later; this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      'Run it through npm (npm start, npx swarmd), which uses the Node.js 24 that npm install put in node_modules/.bin.\n',
  );
  process.exit(1);
}
// Keep the type-stripped sources and their bytecode on disk: every thread then starts without
// loading the TypeScript stripper again (~15 MiB less memory per thread, and a faster start).
// Worker threads inherit the setting through the environment.
const { enableCompileCache } = await import('node:module');
const cache = enableCompileCache?.();
if (cache?.directory && !process.env.NODE_COMPILE_CACHE) process.env.NODE_COMPILE_CACHE = cache.directory;
await import('../src/cli.ts');
