/**
 * The rooms of src/ and what each may import (docs/architecture.md). test/architecture/import-graph.test.ts runs
 * dependency-cruiser with these rules over every import in src/ and fails on an arrow that runs the wrong way.
 */
const GROUND = ['^src/errors\\.ts$', '^src/platform\\.ts$'];
const room = (name) => `^src/${name}/`;
const ENTRIES = '^src/(index|node|browser)\\.ts$';

/** Each room and the rooms (besides itself and the ground floor) it may import. */
const ROOMS = {
  io: [],
  audio: [room('io')],
  backend: [],
  layers: ['^src/backend/kernels\\.ts$'],
  hub: [room('io')],
  model: [room('io'), room('audio'), room('backend'), room('layers'), room('hub')],
  results: [room('io'), room('audio'), room('model')],
  assistant: [room('audio'), room('model'), room('results')],
  train: [room('io'), room('audio'), room('backend'), room('layers'), room('model'), room('results')],
  queue: [room('io'), room('audio'), room('hub'), room('model'), room('results')],
  server: [
    room('io'), room('audio'), room('backend'), room('layers'), room('hub'), room('model'), room('results'),
    room('assistant'), room('train'), room('queue'), room('worker'), '^src/web/page-html\\.ts$',
  ],
  // The page is an app on the browser entry.
  web: [
    room('io'), room('audio'), room('backend'), room('hub'), room('model'), room('results'), room('assistant'),
    '^src/browser\\.ts$',
  ],
  // The model in a Web Worker: both sides, exported by the browser entry.
  worker: [room('audio'), room('backend'), room('hub'), room('layers'), room('model')],
  cli: ['^src/(?!index\\.ts$|node\\.ts$|browser\\.ts$)'],
};

const forbidden = [
  {
    name: 'ground-floor',
    comment: 'errors.ts and platform.ts import nothing of ours',
    severity: 'error',
    from: { path: GROUND },
    to: { path: '^src/' },
  },
  {
    name: 'no-entry-imports',
    comment: 'no module imports a package entry (for its exports or its side effects), but the page its own',
    severity: 'error',
    from: { path: '^src/', pathNot: [ENTRIES, '^src/web/'] },
    to: { path: ENTRIES },
  },
  {
    name: 'platforms',
    comment: 'the platform installers (node-platform.ts, browser-platform.ts) import rooms, never entries or surfaces',
    severity: 'error',
    from: { path: '^src/(node|browser)-platform\\.ts$' },
    to: { path: [ENTRIES, room('cli'), room('server'), room('web'), room('queue')] },
  },
  ...Object.entries(ROOMS).map(([name, allowed]) => ({
    name: `room-${name}`,
    comment: `src/${name}/ may import only ${allowed.length > 0 ? allowed.join(', ') : 'nothing of ours'} besides itself and the ground floor`,
    severity: 'error',
    from: { path: room(name) },
    to: { path: '^src/', pathNot: [room(name), ...GROUND, ...allowed] },
  })),
];

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.d\\.ts$' },
  },
};
