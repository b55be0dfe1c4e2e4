import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { instantiateInt8Kernels, relaxedSimdStatus } from '../../../src/backend/wasm/int8/int8-matmul.js';
import { createInt8ThreadPool } from '../../../src/backend/wasm/int8/int8-threads.js';
import { startNodeInt8Worker } from '../../../src/backend/wasm/int8/int8-threads-node.js';
import { runInt8Checks } from '../../support/int8-checks.js';
import { expectInt8KernelsCorrect } from '../../support/int8-expect.js';

describe('int8 kernels, SIMD128', () => {
  it('match the float64 reference of the same quantized arithmetic on odd sizes, exactly where it is exact', async () => {
    expectInt8KernelsCorrect(await runInt8Checks('simd128'));
  });

  it('do the same on a shared memory (the threaded build of tfjs)', async () => {
    const report = await runInt8Checks('simd128', true);
    expect(report.shared).toBe(true);
    expectInt8KernelsCorrect(report);
  });

  it('refuse addresses outside the memory, and ranges that do not start on a block of rows or a panel', async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16 });
    const kernels = await instantiateInt8Kernels(memory, 'simd128');
    expect(() => kernels.quantizeRows(63_000, 10, 100, 0)).toThrow(/ends beyond the memory/);
    expect(() => kernels.matmul(0, 4096, 8192, 2, 8, 16, { rowBegin: 0, rowEnd: 2, colBegin: 3, colEnd: 16 })).toThrow(
      /panel width/,
    );
    expect(() => kernels.matmul(0, 4096, 8192, 2, 8, 16, { rowBegin: 1, rowEnd: 3, colBegin: 0, colEnd: 16 })).toThrow(
      /rows/,
    );
    expect(() => kernels.matmul(0, 4096, 8192, 8, 8, 16, { rowBegin: 1, rowEnd: 3, colBegin: 0, colEnd: 16 })).toThrow(
      /row block/,
    );
    expect(() => kernels.packedBytes(0, 16)).toThrow(/k is 0/);
    expect(() => kernels.quantizedBytes(-1, 16)).toThrow(/not a count/);
  });
});

describe('relaxed SIMD detection', () => {
  const status = (flags: string[]) =>
    execFileSync(
      process.execPath,
      [
        ...flags,
        '--import',
        'tsx',
        '-e',
        "import('./src/backend/wasm/int8/int8-matmul.ts').then((m) => console.log(m.relaxedSimdStatus()))",
      ],
      { encoding: 'utf8', timeout: 60_000 },
    ).trim();

  it('says missing in Node 20 without the flag, and picks SIMD128 by itself', async () => {
    if (Number(process.versions.node.split('.')[0]) !== 20) return;
    expect(relaxedSimdStatus()).toBe('missing');
    const kernels = await instantiateInt8Kernels(new WebAssembly.Memory({ initial: 1, maximum: 16 }));
    expect(kernels.variant).toBe('simd128');
    await expect(
      instantiateInt8Kernels(new WebAssembly.Memory({ initial: 1, maximum: 16 }), 'relaxed'),
    ).rejects.toThrow(/cannot run here/);
  });

  it("says wrong with Node 20's flag (its baseline compiler returns twice the product), supported with the optimizing compiler alone", () => {
    if (Number(process.versions.node.split('.')[0]) !== 20) return;
    expect(status(['--experimental-wasm-relaxed-simd'])).toBe('wrong');
    expect(status(['--experimental-wasm-relaxed-simd', '--no-liftoff'])).toBe('supported');
  }, 120_000);
});

describe('int8 warm-up', () => {
  it('writes only its scratch bytes, on one thread and on a pool', async () => {
    const memory = new WebAssembly.Memory({ initial: 128, maximum: 1024, shared: true });
    const kernels = await instantiateInt8Kernels(memory, 'simd128');
    const pool = await createInt8ThreadPool(kernels, 2, startNodeInt8Worker);
    try {
      const bytes = new Uint8Array(memory.buffer);
      for (const [scratch, size, warm] of [
        [4096, kernels.warmUpBytes, (at: number) => kernels.warmUp(at)],
        [4096, pool.warmUpBytes, (at: number) => pool.warmUp(at)],
      ] as const) {
        bytes.fill(0x5a);
        warm(scratch);
        const outside = [...bytes.subarray(0, scratch), ...bytes.subarray(scratch + size, scratch + size + 65536)];
        expect(outside.every((b) => b === 0x5a)).toBe(true);
        expect(bytes.subarray(scratch, scratch + size).some((b) => b !== 0x5a)).toBe(true);
      }
      expect(() => kernels.warmUp(memory.buffer.byteLength - 100)).toThrow(/ends beyond the memory/);
      expect(() => pool.warmUp(memory.buffer.byteLength - 100)).toThrow(/end beyond the memory/);
    } finally {
      await pool.close();
    }
  });
});
