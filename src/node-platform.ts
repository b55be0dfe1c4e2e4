/**
 * What Node adds to the isomorphic library, installed in one call: local files (the ground floor's file hooks),
 * ffmpeg as the audio fallback decoder, the disk cache of hub models (downloaded and converted once), and the
 * backend hooks (the native TensorFlow backend when installed, the wasm files in node_modules, wasm threads).
 * The Node entry point calls it when imported; the CLI calls it at its start. Installing changes no global and no
 * tfjs kernel: each hook is a function the library calls when it needs it.
 */
import { readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { installFallbackDecoder } from './audio/fallback-decoder.js';
import { decodeWithFfmpeg } from './audio/ffmpeg.js';
import { nodeBackendHooks } from './backend/node-hooks.js';
import { installBackendHooks } from './backend/select.js';
import { openRegularFile, readRegularFile } from './io/regular-file.js';
import { ensureCachedModel } from './model/hub-cache.js';
import { installHubModelCache } from './model/hub-source.js';
import { installPlatform } from './platform.js';

/** Installs Node's hooks (each room's own); calling it again changes nothing. */
export function installNodePlatform(): void {
  installPlatform({
    name: 'node',
    readFile: readRegularFile,
    openFile: openRegularFile,
    pathFromFileUrl: (url) => fileURLToPath(url),
    isDirectory: async (path) => (await stat(path)).isDirectory(),
    listDirectory: (path) => readdir(path),
  });
  installFallbackDecoder(decodeWithFfmpeg);
  installHubModelCache(ensureCachedModel);
  installBackendHooks(nodeBackendHooks);
}
