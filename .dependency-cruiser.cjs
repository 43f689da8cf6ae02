/**
 * The layer rules of docs/architecture.md, checked on the TypeScript sources (type-only imports
 * too, parsed with swc) by `npm test` (test/dependency-rules.test.ts). An import that climbs back
 * up the layers fails the suite.
 *
 *   http ─▶ services ─▶ engine ─▶ domain · ports
 *   adapters (storage, blobs, providers, media, net) implement ports and never reach up
 *   jobs = the worker and the registry of job kinds; app/, cli/ and main compose everything
 *   client (segue/client) stands alone: only itself and the webhook verifier
 */
const layer = (name) => `^src/${name}/`;
const forbid = (name, from, to, comment) => ({ name, severity: 'error', comment, from: { path: from }, to: { path: to } });

module.exports = {
  forbidden: [
    forbid('domain-is-pure', layer('domain'), '^src/(?!domain/)', 'domain holds no I/O and imports nothing but itself'),
    forbid('ports-speak-domain', layer('ports'), '^src/(?!(domain|ports)/)', 'ports are interfaces over domain types'),
    forbid('jobs-know-no-use-cases', layer('jobs'), '^src/(?!(domain|ports|jobs)/)', 'the worker and the registry run handlers they are given'),
    forbid('engine-below-services', layer('engine'), '^src/(http|services|app|cli|storage|providers|callbacks|fake-upstream)/', 'the engine works through ports; adapters are handed in'),
    forbid('services-below-http', layer('services'), '^src/(http|app|cli|storage|providers|callbacks|fake-upstream)/', 'use-cases know no dialect and no adapter'),
    {
      name: 'adapters-never-reach-up',
      severity: 'error',
      comment: 'adapters implement ports; they never call back into the layers above (the dependency-free webhook verifier excepted)',
      from: { path: '^src/(storage|blobs|providers|media|net)/' },
      to: { path: '^src/(http|services|engine|app|cli|jobs|callbacks)/', pathNot: '^src/callbacks/webhook-signatures[.]ts$' },
    },
    forbid('callbacks-below-http', layer('callbacks'), '^src/(http|services|engine|app|cli|storage|providers)/', 'callbacks ask the dialect for their body through a port'),
    forbid('http-uses-services', layer('http'), '^src/(storage|engine|jobs|providers|app|cli)/', 'routes call services; they never reach the engine or an adapter'),
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'segue/client runs in the callers\' processes: it imports only itself and the dependency-free webhook verifier',
      from: { path: '^src/client/' },
      to: { path: '^src/', pathNot: '^src/(client/|callbacks/webhook-signatures[.]ts$)' },
    },
    forbid('config-is-a-leaf', layer('config'), '^src/(?!config/)', 'configuration is read once and handed down'),
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'cycles hide which layer owns a decision',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    moduleSystems: ['es6'],
    parser: 'swc',
    tsPreCompilationDeps: true,
    // Resolves the `.js` names of imports to the `.ts` sources, as tsc does.
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
