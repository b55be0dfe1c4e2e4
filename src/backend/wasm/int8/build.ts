/**
 * Builds the int8 kernels into src/backend/wasm/int8/int8-matmul-module.ts (the modules' bytes, base64):
 * int8-matmul.c twice (SIMD128 only, and with relaxed SIMD), each for a plain and for a shared memory (tfjs' plain
 * and threaded builds), and relaxed-probe.wat (the check that a runtime's relaxed dot product is right).
 *
 *   npx tsx src/backend/wasm/int8/build.ts
 *
 * Run by hand after editing the C or the .wat; users and CI never run it (the generated module is committed).
 * Needs clang and wasm-ld for wasm32 with relaxed SIMD intrinsics, which clang 14 lacks: Debian's
 * `apt-get install clang-19 lld-19` (the default, `CLANG=/path/to/clang` picks another), and the `wabt` dev
 * dependency.
 *
 * The modules run on memory they do not own (tfjs' heap), so the build refuses any that has a data segment,
 * reads or writes a global (clang's stack pointer: a stack in linear memory), or imports anything but the memory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtFactory from 'wabt';

const folder = fileURLToPath(new URL('.', import.meta.url));
const clang = process.env['CLANG'] ?? 'clang-19';
const wabt = await wabtFactory();
const FEATURES = { simd: true, relaxed_simd: true, sat_float_to_int: true, sign_extension: true, bulk_memory: true };

// mvp plus what every wasm SIMD runtime has; relaxed SIMD only in the relaxed build. -ffp-contract=off: no fused
// multiply-add (relaxed_madd is fused on some hosts only: results would differ between machines).
// -pre-RA-sched=source keeps each load next to its use: clang's default order hoists the loads of A above the dot
// products, and V8 then spills accumulators (measured 10-25 % slower).
const CLANG_FLAGS = [
  '--target=wasm32',
  '-O3',
  '-mcpu=mvp',
  '-msimd128',
  '-mnontrapping-fptoint',
  '-msign-ext',
  '-mbulk-memory',
  '-mllvm',
  '-pre-RA-sched=source',
  '-ffreestanding',
  '-fno-builtin',
  '-nostdlib',
  '-ffp-contract=off',
  '-Wall',
  '-Werror',
  '-Wl,--no-entry',
  '-Wl,--import-memory',
  '-Wl,--max-memory=4294967296',
  '-Wl,-z,stack-size=0',
  '-Wl,--strip-all',
];

function compile(defines: string[], features: string[]): Uint8Array {
  const scratch = mkdtempSync(join(tmpdir(), 'int8-build-'));
  try {
    const output = join(scratch, 'out.wasm');
    execFileSync(clang, [...CLANG_FLAGS, ...features, ...defines, '-o', output, join(folder, 'int8-matmul.c')], {
      stdio: 'inherit',
    });
    return new Uint8Array(readFileSync(output));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Validates with wabt and returns the module's text (for the checks below). */
function textOf(bytes: Uint8Array): string {
  const module = wabt.readWasm(bytes, { readDebugNames: false, ...FEATURES });
  try {
    module.validate();
    return module.toText({});
  } finally {
    module.destroy();
  }
}

function checkSelfContained(name: string, bytes: Uint8Array): void {
  const text = textOf(bytes);
  const imports = text.match(/\(import [^\n]*/g) ?? [];
  if (imports.length !== 1 || !imports[0]!.includes('"env" "memory" (memory (;0;) 1 65536)')) {
    throw new Error(`${name}: must import only env.memory (1 to 65536 pages), imports ${JSON.stringify(imports)}`);
  }
  if (/\(data\b/.test(text))
    throw new Error(`${name}: has a data segment (it would be written over the caller's memory)`);
  if (/global\.(get|set)/.test(text)) throw new Error(`${name}: uses a global (a stack in linear memory?)`);
}

/** The memory import: its name, kind 0x02 (memory), limits flag 0x01 (min and max); 0x03 adds "shared". */
function withSharedMemory(bytes: Uint8Array): Uint8Array {
  const pattern = Buffer.from([...Buffer.from('\x06memory'), 0x02, 0x01]);
  const buffer = Buffer.from(bytes);
  const at = buffer.indexOf(pattern);
  if (at < 0 || buffer.indexOf(pattern, at + 1) >= 0) throw new Error('memory import not found exactly once');
  const shared = bytes.slice();
  shared[at + pattern.length - 1] = 0x03;
  return shared;
}

function assemble(file: string): Uint8Array {
  const parsed = wabt.parseWat(file, readFileSync(join(folder, file), 'utf8'), FEATURES);
  try {
    parsed.validate();
    return new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
}

const simd128 = compile([], []);
const relaxed = compile(['-DINT8_RELAXED'], ['-mrelaxed-simd']);
checkSelfContained('simd128', simd128);
checkSelfContained('relaxed', relaxed);
if (/relaxed/.test(textOf(simd128))) throw new Error('simd128: uses a relaxed SIMD instruction');
const probe = assemble('relaxed-probe.wat');
// wabt's validator refuses shared memories: the engine checks these (the relaxed ones where it has relaxed SIMD).
const relaxedHere = WebAssembly.validate(probe as Uint8Array<ArrayBuffer>);
for (const bytes of [withSharedMemory(simd128), ...(relaxedHere ? [withSharedMemory(relaxed)] : [])]) {
  new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const modules = {
  INT8_SIMD128_PLAIN: ["SIMD128 kernels for a non-shared memory (tfjs' plain wasm build)", simd128],
  INT8_SIMD128_SHARED: ["SIMD128 kernels for a shared memory (tfjs' threaded build)", withSharedMemory(simd128)],
  INT8_RELAXED_PLAIN: ['Relaxed SIMD kernels for a non-shared memory', relaxed],
  INT8_RELAXED_SHARED: ['Relaxed SIMD kernels for a shared memory', withSharedMemory(relaxed)],
  INT8_RELAXED_PROBE: [
    'The relaxed dot product on its own (relaxed-probe.wat), to check a runtime computes it right',
    probe,
  ],
} as const;
let source = '// Generated by src/backend/wasm/int8/build.ts from int8-matmul.c and relaxed-probe.wat: do not edit.\n';
for (const [name, [what, bytes]] of Object.entries(modules))
  source += `/** ${what}, base64. */\nexport const ${name} =\n  '${base64(bytes)}';\n`;
writeFileSync(join(folder, 'int8-matmul-module.ts'), source);
process.stdout.write(
  `int8-matmul-module.ts: simd128 ${simd128.length} bytes, relaxed ${relaxed.length}, probe ${probe.length}\n`,
);
