/**
 * Child-process script for test/backend/select.test.ts: a Node app whose wasm files cannot be found (as in an app
 * bundled without node_modules) selects backend 'auto' twice. Prints the backend, then what went to stderr.
 */
import { getBackendHooks, installBackendHooks, selectBackend } from '../../src/backend/select.js';
import { installNodePlatform } from '../../src/node-platform.js';

// As the Node entry does on import: Node's backend hooks (tensorflow, then wasm, then cpu), then the missing files.
installNodePlatform();
installBackendHooks({ ...getBackendHooks(), defaultWasmPaths: () => '/nonexistent-wasm-folder/' });
const first = await selectBackend('auto');
const second = await selectBackend('auto');
console.log(JSON.stringify({ first, second }));
