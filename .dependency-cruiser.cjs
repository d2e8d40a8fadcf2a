// swarmd's layers, written down once: checked by `npm run lint` (dependency-cruiser), drawn in
// docs/ARCHITECTURE.md. A module belongs to the first layer, lowest first, whose pattern matches
// it; it may import its own layer and the layers below, never one above. Type-only imports count:
// a type is part of a module's interface too.
const LAYERS = [
  // Helpers everything may use: atomic files and journals, small utilities, the logger.
  { name: 'base', paths: ['^src/fs/', '^src/text/', '^src/util/', '^src/(?!tracker[.]ts$|cli[.]ts$|check-config[.]ts$)[^/]+$'] },
  // Pure codecs: bytes <-> typed requests and replies.
  { name: 'protocol', paths: ['^src/protocol/'] },
  // Client addresses and network lists, UDP byte movers, the configuration.
  { name: 'edge', paths: ['^src/net/', '^src/io/', '^src/config/'] },
  // The shared state: swarms, access lists, counters (stats' pages that read the store are higher).
  { name: 'data', paths: ['^src/store/', '^src/access/', '^src/stats/(counters|event-loop|request-log|woodpeckers)[.]ts$'] },
  // What runs beside the answers: full scrapes, the cluster, notices, state dumps, stats pages.
  { name: 'services', paths: ['^src/scrape/', '^src/cluster/', '^src/notices/', '^src/state/', '^src/stats/'] },
  // The tracker's rules, once for every transport.
  { name: 'requests', paths: ['^src/requests/'] },
  // Connections and framing: HTTP endpoints, the UDP and WebSocket servers, the worker.
  { name: 'transports', paths: ['^src/http/', '^src/server/'] },
  // The main thread and the command line (with its --check-config, which looks at what every layer will open).
  { name: 'top', paths: ['^src/tracker[.]ts$', '^src/cli[.]ts$', '^src/check-config[.]ts$'] },
];

// One rule per layer: its modules (those not already in a lower layer) import no module of a higher one.
const pattern = (layers) => layers.flatMap((l) => l.paths).join('|');
const upwardRules = LAYERS.slice(0, -1).map((layer, i) => {
  const below = LAYERS.slice(0, i);
  const above = LAYERS.slice(i + 1);
  return {
    name: `${layer.name}-not-upward`,
    severity: 'error',
    comment: `${layer.name} must not import a higher layer (${above.map((l) => l.name).join(', ')})`,
    from: { path: pattern([layer]), pathNot: below.length > 0 ? pattern(below) : undefined },
    to: { path: pattern(above), pathNot: pattern([...below, layer]) },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...upwardRules,
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: the modules involved can only be understood, loaded and tested together',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-test-or-bench',
      severity: 'error',
      comment: 'The tracker must not depend on its tests or benchmarks',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'src-not-to-dev-dependency',
      severity: 'error',
      comment: 'A devDependency is not installed with the tracker (npm install --omit=dev)',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-orphans',
      severity: 'error',
      comment: 'A module nothing imports and that imports nothing is dead code (the dashboard is served as files, not imported)',
      from: { orphan: true, path: '^src/', pathNot: ['^src/stats/dashboard/', '[.]d[.]ts$'] },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file or package',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment: 'A package imported but not named in package.json works only by accident of the install',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // test/support/webrtc-polyfill is a local package standing in for one: it uses the root's devDependencies.
    combinedDependencies: true,
  },
};
