/**
 * What a browser adds to the isomorphic library, installed in one call: Web Audio's `decodeAudioData` as the
 * fallback decoder, and the backend hooks (GPU backends first, WebGL loaded on first use). The browser entry point
 * calls it when imported. Installing changes no global and no tfjs kernel.
 */
import { installFallbackDecoder } from './audio/fallback-decoder.js';
import { decodeWithWebAudio } from './audio/web-audio-decoder.js';
import { browserBackendHooks } from './backend/browser-hooks.js';
import { installBackendHooks } from './backend/select.js';
import { installPlatform } from './platform.js';

/** Installs the browser's hooks (each room's own); calling it again changes nothing. */
export function installBrowserPlatform(): void {
  installPlatform({ name: 'browser' });
  installFallbackDecoder(decodeWithWebAudio);
  installBackendHooks(browserBackendHooks);
}
