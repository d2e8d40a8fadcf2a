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
await import('../src/cli.ts');
