/**
 * Browser entry point: the isomorphic library plus the browser's own audio decoder (Web Audio's
 * `decodeAudioData`) as the fallback for formats the bundled decoders do not read, and GPU backends first
 * (WebGL is imported on first use: no import needed in the app).
 *
 * Bundlers pick this file through the package's `browser` export condition.
 */
import { installBrowserPlatform } from './browser-platform.js';

export * from './index.js';

installBrowserPlatform();
