/**
 * XXH32, the 32-bit xxHash (Yann Collet's public-domain algorithm, specified in xxhash's doc/xxhash_spec.md): the
 * checksum a converted model records for each tensor's stored bytes and checks as it reads them. Written by hand
 * because it must run synchronously, on bytes already in memory, in every runtime (Node's crypto is Node-only and
 * the browsers' is asynchronous), and fast enough to cost little next to the read: four 32-bit lanes, one multiply
 * and rotate each per 4 bytes. A checksum, not a signature: it catches a changed or damaged file, not a forger who
 * can also rewrite model.json.
 */

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** XXH32 of `bytes` with `seed`, as an unsigned 32-bit integer. */
export function xxh32(bytes: Uint8Array, seed = 0): number {
  const length = bytes.length;
  const aligned = bytes.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(bytes.buffer, bytes.byteOffset, length >>> 2) : null;
  const view = aligned ? null : new DataView(bytes.buffer, bytes.byteOffset, length);
  const word = (i: number): number => (words ? words[i]! : view!.getUint32(i * 4, true));
  let i = 0;
  let hash: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const stripes = length >>> 4;
    if (words && HOST_IS_LITTLE_ENDIAN) {
      for (let s = 0, w = 0; s < stripes; s++, w += 4) {
        v1 = Math.imul(rotl((v1 + Math.imul(words[w]!, PRIME2)) | 0, 13), PRIME1);
        v2 = Math.imul(rotl((v2 + Math.imul(words[w + 1]!, PRIME2)) | 0, 13), PRIME1);
        v3 = Math.imul(rotl((v3 + Math.imul(words[w + 2]!, PRIME2)) | 0, 13), PRIME1);
        v4 = Math.imul(rotl((v4 + Math.imul(words[w + 3]!, PRIME2)) | 0, 13), PRIME1);
      }
    } else {
      for (let s = 0, w = 0; s < stripes; s++, w += 4) {
        v1 = Math.imul(rotl((v1 + Math.imul(littleEndian(word, w), PRIME2)) | 0, 13), PRIME1);
        v2 = Math.imul(rotl((v2 + Math.imul(littleEndian(word, w + 1), PRIME2)) | 0, 13), PRIME1);
        v3 = Math.imul(rotl((v3 + Math.imul(littleEndian(word, w + 2), PRIME2)) | 0, 13), PRIME1);
        v4 = Math.imul(rotl((v4 + Math.imul(littleEndian(word, w + 3), PRIME2)) | 0, 13), PRIME1);
      }
    }
    i = stripes * 16;
    hash = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    hash = (seed + PRIME5) | 0;
  }
  hash = (hash + length) | 0;
  for (; i + 4 <= length; i += 4) {
    const lane = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    hash = Math.imul(rotl((hash + Math.imul(lane, PRIME3)) | 0, 17), PRIME4);
  }
  for (; i < length; i++) hash = Math.imul(rotl((hash + Math.imul(bytes[i]!, PRIME5)) | 0, 11), PRIME1);
  hash = Math.imul(hash ^ (hash >>> 15), PRIME2);
  hash = Math.imul(hash ^ (hash >>> 13), PRIME3);
  return (hash ^ (hash >>> 16)) >>> 0;
}

/** The 32-bit word `w` read little-endian, whatever the host's order (the Uint32Array fast path is for little-endian hosts). */
function littleEndian(word: (i: number) => number, w: number): number {
  if (HOST_IS_LITTLE_ENDIAN) return word(w);
  const x = word(w);
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
