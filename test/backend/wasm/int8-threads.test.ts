import { describe, expect, it } from 'vitest';
import { instantiateInt8Kernels } from '../../../src/backend/wasm/int8/int8-matmul.js';
import { canBlockThisThread, createInt8ThreadPool } from '../../../src/backend/wasm/int8/int8-threads.js';
import { startNodeInt8Worker } from '../../../src/backend/wasm/int8/int8-threads-node.js';
import { threadsGiveSameProducts } from '../../support/int8-checks.js';
import { runRelaxedChild } from '../../support/int8-expect.js';

describe('int8 products on two threads', () => {
  it('give the single thread products bit for bit, split by columns or by rows, on odd shapes (SIMD128)', async () => {
    expect(canBlockThisThread()).toBe(true);
    expect(await threadsGiveSameProducts('simd128', 2)).toEqual({ threads: 2, same: true });
    expect(await threadsGiveSameProducts('simd128', 3)).toEqual({ threads: 3, same: true });
  });

  it('give the single thread products bit for bit (relaxed SIMD, in a Node that has it)', () => {
    expect(runRelaxedChild('threads')).toEqual({ threads: 2, same: true });
  }, 150_000);

  it('run on the calling thread alone where the memory is not shared or no worker can be started, and say why', async () => {
    const plain = await instantiateInt8Kernels(new WebAssembly.Memory({ initial: 1, maximum: 16 }), 'simd128');
    const pool = await createInt8ThreadPool(plain, 2, startNodeInt8Worker);
    expect(pool.threads).toBe(1);
    expect(pool.fallback).toMatch(/not shared/);
    const shared = await instantiateInt8Kernels(
      new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }),
      'simd128',
    );
    const without = await createInt8ThreadPool(shared, 2);
    expect(without.threads).toBe(1);
    expect(without.fallback).toMatch(/no way to start workers/);
  });

  it('close their workers, and refuse products afterwards', async () => {
    const kernels = await instantiateInt8Kernels(
      new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true }),
      'simd128',
    );
    const pool = await createInt8ThreadPool(kernels, 3, startNodeInt8Worker);
    expect(pool.threads).toBe(3);
    await pool.close();
    expect(() => pool.matmul(0, 0, 0, 1, 1, 1)).toThrow(/closed/);
  });
});
