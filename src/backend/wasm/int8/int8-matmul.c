// int8 matrix products for the wasm backend: out = x w^T + bias, with the activations x quantized per row at run
// time and the weights w quantized per output channel at conversion (`convert --dtype int8`: int8, symmetric, one
// scale per channel), integer dot products and float32 scales.
//
// Built twice by build.ts: SIMD128 only (i32x4.dot_i16x8_s, every wasm SIMD runtime) and with relaxed SIMD
// (i32x4.relaxed_dot_i8x16_i7x16_add_s, -DINT8_RELAXED). Both export the same functions; the layouts differ.
//
// The module owns no memory: it imports the caller's (tfjs' heap, plain or shared), has no data segment and never
// touches a stack in linear memory (build.ts checks both), so it can run on memory it does not manage. Every
// pointer is a byte address in that memory; the caller allocates with the *_bytes functions.
//
// Activations, both builds: per row, asymmetric 8 bits over the row's own range,
//   s = nearest((x - min) * 255 / (max - min)) - 128 in [-128, 127],  x ~ sa s + oa  (sa = (max - min) / 255,
//   oa = min + 128 sa): never coarser than symmetric int8 (absmax / 127), twice as fine for one-sided rows such
//   as GELU's output.
// Weights: w ~ sw u + ow per channel. SIMD128: u = the stored int8 values, ow = 0. Relaxed: the second operand of
//   relaxed_dot must be 7-bit non-negative ([0, 127]: with its top bit set the product is implementation-defined,
//   signed on some hosts and unsigned on others), so the activations are the (signed, 8-bit) first operand and
//   the weights are requantized at packing to u = nearest((q - min q) * 127 / (max q - min q)) in [0, 127]: they
//   lose a bit (their rounding error about doubles).
// Then sum_k x w = sa sw sum_k(s u) + (sa sum_k s) ow + oa (sw sum_k u + ow k): an exact int32 sum (|sum| <=
// k * 128 * 128 < 2^31 for k < 131 000) and rank-one corrections from per-row and per-channel sums, in float32.
#include <stdint.h>
#include <wasm_simd128.h>

// Not inlined into int8_warm_up: V8 compiles each function on its own, and the warm-up must run these.
#define EXPORT(name) __attribute__((export_name(#name), noinline))
#define INLINE static inline __attribute__((always_inline))
// Loops over the register block are unrolled in full so the accumulators live in locals: an array indexed at run
// time would live on a stack in linear memory, which this module must not have.

// Register block: MR rows x NR columns of int32 accumulators (NR / 4 vectors per row). Measured on a Zen 4
// (V8 11.3): 4 x 8 beat 5 x 8, 6 x 8, 3 x 12 and 2 x 16 (V8 spills their accumulators or the extra loads cost
// more), and unrolling the k loop was slower (clang then reorders the steps and V8 spills). The broadcasts of the
// activations are what limits the SIMD128 kernel (one load per two dot products; loading a whole group and
// splatting each row's lane by shuffles measured the same).
#define MR 4
#define NR 8
#define NV (NR / 4)
// k values one accumulator lane takes per step: 2 (dot_i16x8_s) or 4 (relaxed_dot_i8x16_i7x16_add_s); k is padded
// with zeros to a multiple of it.
#ifdef INT8_RELAXED
#define KSTEP 4
typedef int8_t qa_t;
#else
#define KSTEP 2
typedef int16_t qa_t;
#endif
// Rows of activations per cache block: their quantized rows stay in L2 while every panel of the column range
// passes (measured: 4 to 125 blocks of MR rows made no difference at the model's shapes, with a 32 MB L3).
#define MC (MR * 16)

INLINE int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }
INLINE int min_int(int a, int b) { return a < b ? a : b; }

INLINE int padded_k(int k) { return round_up(k, KSTEP); }
INLINE int padded_m(int m) { return round_up(m, MR); }
INLINE int padded_n(int n) { return round_up(n, NR); }

// ---- Quantized activations: padded_m(m) / MR blocks of MR rows, each padded_k(k) / KSTEP groups of MR x KSTEP
// values s (row-major inside a group: the KSTEP values of row 0, then of row 1, ...; int16 for SIMD128, int8
// for relaxed), rows past m all zero; then float sa[pm], oa[pm] and sa * sum_k s [pm] (pm = padded_m(m)).

INLINE int block_bytes(int k) { return MR * padded_k(k) * (int)sizeof(qa_t); }

EXPORT(int8_quantized_bytes) int quantized_bytes(int m, int k) { return padded_m(m) / MR * block_bytes(k) + 12 * padded_m(m); }

EXPORT(int8_row_block) int row_block(void) { return MR; }

INLINE float *row_floats(const uint8_t *qa, int m, int k) { return (float *)(qa + padded_m(m) / MR * block_bytes(k)); }

// pmin / pmax (b < a ? b : a) are one instruction each in V8 on x86, where min / max take about seven (they
// propagate NaN and order -0 below +0); a NaN is caught by a sum instead (see quantize_row).
INLINE float horizontal_max(v128_t v) {
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmax(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

INLINE float horizontal_min(v128_t v) {
  v = wasm_f32x4_pmin(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_pmin(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

// The values s of 8 floats x: nearest((x - low) * inverse) (ties to even) held in [0, 255], minus 128, as int16.
// (x - low) * inverse is in [0, 255] give or take a rounding, so adding 2^23 rounds it to an integer (ties to even,
// as f32.nearest) in the float's low mantissa bits: two instructions where nearest + trunc_sat take about ten in
// V8 (measured: the whole quantization 1.6x faster).
INLINE v128_t quantize8(const float *x, v128_t low, v128_t inverse) {
  const v128_t magic = wasm_f32x4_splat(8388608.0f);
  const v128_t a = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x), low), inverse), magic);
  const v128_t b = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + 4), low), inverse), magic);
  const v128_t q = wasm_i16x8_narrow_i32x4(wasm_i32x4_sub(a, magic), wasm_i32x4_sub(b, magic));
  return wasm_i16x8_sub(wasm_i16x8_min(q, wasm_i16x8_splat(255)), wasm_i16x8_splat(128));
}

// Quantizes one row of k floats into its interleaved place (first group at dst, groups MR * KSTEP apart); writes
// the row's sa, oa and sa * sum_k s to floats[0], floats[pm], floats[2 pm].
INLINE void quantize_row(const float *src, int k, qa_t *dst, float *floats, int pm) {
  const int kp = padded_k(k), stride = MR * KSTEP;
  int i = 0;
  v128_t low4 = wasm_f32x4_splat(src[0]), high4 = low4, total4 = wasm_f32x4_splat(0);
  for (; i + 4 <= k; i += 4) {
    const v128_t v = wasm_v128_load(src + i);
    low4 = wasm_f32x4_pmin(low4, v);
    high4 = wasm_f32x4_pmax(high4, v);
    total4 = wasm_f32x4_add(total4, v);
  }
  float low = horizontal_min(low4), high = horizontal_max(high4);
  float total = wasm_f32x4_extract_lane(total4, 0) + wasm_f32x4_extract_lane(total4, 1) +
                wasm_f32x4_extract_lane(total4, 2) + wasm_f32x4_extract_lane(total4, 3);
  for (; i < k; i++) {
    low = src[i] < low ? src[i] : low;
    high = src[i] > high ? src[i] : high;
    total += src[i];
  }
  const float range = high - low;
  const float inverse = range > 0 ? 255.0f / range : 0.0f;
  // A NaN in the row (which pmin / pmax may skip) makes the sum NaN: the row's scale then too, and its outputs.
  const float scale = total != total ? total : range / 255.0f;
  const v128_t low_4 = wasm_f32x4_splat(low), inverse4 = wasm_f32x4_splat(inverse);
  v128_t sum4 = wasm_i32x4_splat(0);
  for (i = 0; i + 8 <= k; i += 8) {
    v128_t s = quantize8(src + i, low_4, inverse4);
    sum4 = wasm_i32x4_add(sum4, wasm_i32x4_extadd_pairwise_i16x8(s));
#ifdef INT8_RELAXED
    // Two groups of four int8.
    s = wasm_i8x16_narrow_i16x8(s, s);
    wasm_v128_store32_lane(dst + (i / KSTEP) * stride, s, 0);
    wasm_v128_store32_lane(dst + (i / KSTEP + 1) * stride, s, 1);
#else
    // Four groups of two int16.
    wasm_v128_store32_lane(dst + (i / KSTEP) * stride, s, 0);
    wasm_v128_store32_lane(dst + (i / KSTEP + 1) * stride, s, 1);
    wasm_v128_store32_lane(dst + (i / KSTEP + 2) * stride, s, 2);
    wasm_v128_store32_lane(dst + (i / KSTEP + 3) * stride, s, 3);
#endif
  }
  int sum = wasm_i32x4_extract_lane(sum4, 0) + wasm_i32x4_extract_lane(sum4, 1) + wasm_i32x4_extract_lane(sum4, 2) +
            wasm_i32x4_extract_lane(sum4, 3);
  for (; i < kp; i++) {
    int s = 0;
    if (i < k) {
      const float q = __builtin_nearbyintf((src[i] - low) * inverse);
      s = (int)(q < 0 ? 0 : q > 255 ? 255 : q) - 128;
    }
    sum += s;
    dst[(i / KSTEP) * stride + i % KSTEP] = (qa_t)s;
  }
  floats[0] = scale;
  floats[pm] = low + 128.0f * scale;
  floats[2 * pm] = scale * (float)sum;
}

// Quantizes rows [row_begin, row_end) of the m rows of k floats at x, row i at x + i * x_stride, into the layout
// above at qa. x_stride may be below k: the rows then overlap, as the rows of a convolution's input patches do
// (kernel k / C frames of C channels, stride x_stride / C frames), which so never exist as a matrix of their own.
// row_begin must be a multiple of int8_row_block() (or equal row_end); the call that quantizes row m - 1 also zeroes
// the padding rows of its block.
EXPORT(int8_quantize_rows) void quantize_rows(const float *x, int m, int k, uint8_t *qa, int row_begin, int row_end,
                                              int x_stride) {
  float *floats = row_floats(qa, m, k);
  const int pm = padded_m(m);
  for (int row = row_begin; row < row_end; row++) {
    qa_t *dst = (qa_t *)(qa + (row / MR) * block_bytes(k)) + (row % MR) * KSTEP;
    quantize_row(x + (long)row * x_stride, k, dst, floats + row, pm);
  }
  if (row_end == m) {
    for (int row = m; row < pm; row++) {
      qa_t *dst = (qa_t *)(qa + (row / MR) * block_bytes(k)) + (row % MR) * KSTEP;
      for (int i = 0; i < padded_k(k); i += KSTEP)
        for (int j = 0; j < KSTEP; j++) dst[i * MR + j] = 0;
      floats[row] = floats[pm + row] = floats[2 * pm + row] = 0;
    }
  }
}

// ---- Packed weights: float sw[np], bias[np], ow[np] and sw * sum_k u + ow * k [np] (np = padded_n(n)), then
// np / NR panels, each padded_k(k) / KSTEP groups of NR * KSTEP bytes u: NV vectors of four columns x KSTEP
// consecutive k (column-major inside a vector).

EXPORT(int8_packed_bytes) int packed_bytes(int k, int n) { return 16 * padded_n(n) + padded_n(n) * padded_k(k); }

EXPORT(int8_panel_width) int panel_width(void) { return NR; }

#ifdef INT8_RELAXED
// u of 4 int8 q (the low four lanes of q16, widened to int16): nearest((q - low) * inverse), as int32.
INLINE v128_t requantize4(v128_t q16, v128_t low, v128_t inverse) {
  const v128_t magic = wasm_f32x4_splat(8388608.0f);
  const v128_t v = wasm_f32x4_convert_i32x4(wasm_i32x4_sub(wasm_i32x4_extend_low_i16x8(q16), low));
  return wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(v, inverse), magic), magic);
}
#endif

// Packs the int8 weights w (n rows of k: PyTorch's (out, in) layout), their n scales and n biases (bias may be 0:
// none) into the layout above at packed (once, at load). Sixteen k at a time: 0.3 ns per weight for SIMD128,
// 0.6 for relaxed (value by value: 1-2 and 6).
EXPORT(int8_pack_weights) void pack_weights(const int8_t *w, const float *scales, const float *bias, int k, int n, uint8_t *packed) {
  const int kp = padded_k(k), np = padded_n(n);
  float *floats = (float *)packed;
  int8_t *panels = (int8_t *)(packed + 16 * np);
  for (int col = 0; col < np; col++) {
    const int8_t *row = w + (long)col * k;
    const int lane = col % NR;
    // Where the column's values go: group (i / KSTEP) at NR * KSTEP bytes each, then vector (lane / 4), column
    // (lane % 4), position (i % KSTEP).
    int8_t *dst = panels + (col / NR) * NR * kp + (lane / 4) * 4 * KSTEP + (lane % 4) * KSTEP;
    float scale = 0, offset = 0;
    int sum = 0, i = 0;
#ifdef INT8_RELAXED
    // The channel's int8 values requantized to 7 bits over their own range.
    int low = 0, high = 0;
    if (col < n) {
      low = high = row[0];
      for (int j = 1; j < k; j++) {
        low = row[j] < low ? row[j] : low;
        high = row[j] > high ? row[j] : high;
      }
      scale = scales[col] * ((float)(high - low) / 127.0f);
      offset = scales[col] * (float)low;
    }
    const float inverse = high > low ? 127.0f / (float)(high - low) : 0.0f;
    const v128_t low4 = wasm_i32x4_splat(low), inverse4 = wasm_f32x4_splat(inverse);
#else
    if (col < n) scale = scales[col];
#endif
    if (col < n) {
      v128_t sum4 = wasm_i32x4_splat(0);
      for (; i + 16 <= k; i += 16) {
        const v128_t q = wasm_v128_load(row + i);
        const v128_t low16 = wasm_i16x8_extend_low_i8x16(q), high16 = wasm_i16x8_extend_high_i8x16(q);
#ifdef INT8_RELAXED
        const v128_t u32a = requantize4(low16, low4, inverse4);
        const v128_t u32b = requantize4(wasm_i32x4_shuffle(low16, low16, 2, 3, 0, 1), low4, inverse4);
        const v128_t u32c = requantize4(high16, low4, inverse4);
        const v128_t u32d = requantize4(wasm_i32x4_shuffle(high16, high16, 2, 3, 0, 1), low4, inverse4);
        const v128_t top = wasm_i16x8_splat(127);
        const v128_t u16a = wasm_i16x8_min(wasm_i16x8_narrow_i32x4(u32a, u32b), top);
        const v128_t u16b = wasm_i16x8_min(wasm_i16x8_narrow_i32x4(u32c, u32d), top);
        sum4 = wasm_i32x4_add(sum4, wasm_i32x4_add(wasm_i32x4_extadd_pairwise_i16x8(u16a), wasm_i32x4_extadd_pairwise_i16x8(u16b)));
        const v128_t u = wasm_i8x16_narrow_i16x8(u16a, u16b);
        // Four groups of four.
        wasm_v128_store32_lane(dst + (i / KSTEP) * NR * KSTEP, u, 0);
        wasm_v128_store32_lane(dst + (i / KSTEP + 1) * NR * KSTEP, u, 1);
        wasm_v128_store32_lane(dst + (i / KSTEP + 2) * NR * KSTEP, u, 2);
        wasm_v128_store32_lane(dst + (i / KSTEP + 3) * NR * KSTEP, u, 3);
#else
        sum4 = wasm_i32x4_add(sum4, wasm_i32x4_add(wasm_i32x4_extadd_pairwise_i16x8(low16), wasm_i32x4_extadd_pairwise_i16x8(high16)));
        // Eight groups of two.
        wasm_v128_store16_lane(dst + (i / KSTEP) * NR * KSTEP, q, 0);
        wasm_v128_store16_lane(dst + (i / KSTEP + 1) * NR * KSTEP, q, 1);
        wasm_v128_store16_lane(dst + (i / KSTEP + 2) * NR * KSTEP, q, 2);
        wasm_v128_store16_lane(dst + (i / KSTEP + 3) * NR * KSTEP, q, 3);
        wasm_v128_store16_lane(dst + (i / KSTEP + 4) * NR * KSTEP, q, 4);
        wasm_v128_store16_lane(dst + (i / KSTEP + 5) * NR * KSTEP, q, 5);
        wasm_v128_store16_lane(dst + (i / KSTEP + 6) * NR * KSTEP, q, 6);
        wasm_v128_store16_lane(dst + (i / KSTEP + 7) * NR * KSTEP, q, 7);
#endif
      }
      sum = wasm_i32x4_extract_lane(sum4, 0) + wasm_i32x4_extract_lane(sum4, 1) + wasm_i32x4_extract_lane(sum4, 2) +
            wasm_i32x4_extract_lane(sum4, 3);
    }
    for (; i < kp; i++) {
      int u = 0;
      if (col < n && i < k) {
#ifdef INT8_RELAXED
        const float q = __builtin_nearbyintf((float)(row[i] - low) * inverse);
        u = (int)(q > 127 ? 127 : q);
#else
        u = row[i];
#endif
      }
      sum += u;
      dst[(i / KSTEP) * NR * KSTEP + i % KSTEP] = (int8_t)u;
    }
    floats[col] = scale;
    floats[np + col] = col < n && bias ? bias[col] : 0.0f;
    floats[2 * np + col] = offset;
    floats[3 * np + col] = scale * (float)sum + offset * (float)k;
  }
}

// ---- The product.

// acc[r][v] += the products of one group: MR rows (a: MR x KSTEP values) by NV vectors of four columns (w).
INLINE void step(v128_t acc[MR][NV], const qa_t *a, const int8_t *w) {
  v128_t wv[NV];
#pragma unroll
  for (int v = 0; v < NV; v++) {
#ifdef INT8_RELAXED
    wv[v] = wasm_v128_load(w + 16 * v);
#else
    wv[v] = wasm_i16x8_load8x8(w + 8 * v);
#endif
  }
#pragma unroll
  for (int r = 0; r < MR; r++) {
    const v128_t x = wasm_v128_load32_splat(a + r * KSTEP);
#pragma unroll
    for (int v = 0; v < NV; v++) {
#ifdef INT8_RELAXED
      // V8 without AVX-VNNI makes this five instructions (pmaddubsw, pmaddwd with ones built in place, paddd);
      // relaxed_dot_i8x16_i7x16_s + extadd_pairwise + add measured slower here, and would lose the single
      // instruction of VNNI and Arm's sdot.
      acc[r][v] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(x, wv[v], acc[r][v]);
#else
      acc[r][v] = wasm_i32x4_add(acc[r][v], wasm_i32x4_dot_i16x8(x, wv[v]));
#endif
    }
  }
}

// One register block: MR rows (a: their interleaved groups) x NR columns (panel) over kp, then the scales, bias and
// corrections applied and `rows` x `columns` of it written to out (row stride n). row: the block's first row's
// floats (sa; oa and sa sum s pm and 2 pm further); col: the panel's first column's floats (sw; bias, ow and
// correction np, 2 np and 3 np further).
INLINE void block(const qa_t *a, const int8_t *panel, int kp, int rows, int columns, const float *row, int pm,
                  const float *col, int np, float *out, int n) {
  v128_t acc[MR][NV];
#pragma unroll
  for (int r = 0; r < MR; r++) {
#pragma unroll
    for (int v = 0; v < NV; v++) acc[r][v] = wasm_i32x4_splat(0);
  }
  for (int i = 0; i < kp; i += KSTEP) {
    step(acc, a, panel);
    a += MR * KSTEP;
    panel += NR * KSTEP;
  }
#pragma unroll
  for (int r = 0; r < MR; r++) {
    if (r >= rows) break;
    const v128_t sa = wasm_f32x4_splat(row[r]), oa = wasm_f32x4_splat(row[pm + r]);
    const v128_t sa_sum = wasm_f32x4_splat(row[2 * pm + r]);
#pragma unroll
    for (int v = 0; v < NV; v++) {
      const float *c = col + 4 * v;
      v128_t value = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][v]), wasm_f32x4_mul(sa, wasm_v128_load(c)));
      value = wasm_f32x4_add(value, wasm_v128_load(c + np));
      value = wasm_f32x4_add(value, wasm_f32x4_mul(sa_sum, wasm_v128_load(c + 2 * np)));
      value = wasm_f32x4_add(value, wasm_f32x4_mul(oa, wasm_v128_load(c + 3 * np)));
      float *dst = out + r * n + 4 * v;
      const int left = columns - 4 * v;
      if (left >= 4) {
        wasm_v128_store(dst, value);
      } else {
        if (left > 0) dst[0] = wasm_f32x4_extract_lane(value, 0);
        if (left > 1) dst[1] = wasm_f32x4_extract_lane(value, 1);
        if (left > 2) dst[2] = wasm_f32x4_extract_lane(value, 2);
      }
    }
  }
}

// out[row, col] for rows [row_begin, row_end) and columns [col_begin, col_end) of the m x n float output, rows
// out_stride floats apart. row_begin must be a multiple of MR and col_begin of NR (or equal the end).
__attribute__((noinline)) static void matmul_into(const uint8_t *qa, const uint8_t *packed, float *out, int m, int k,
                                                  int n, int out_stride, int row_begin, int row_end, int col_begin,
                                                  int col_end) {
  const int kp = padded_k(k), np = padded_n(n), pm = padded_m(m);
  const float *rows_floats = row_floats(qa, m, k), *col_floats = (const float *)packed;
  const int8_t *panels = (const int8_t *)(packed + 16 * np);
  for (int block_row = row_begin; block_row < row_end; block_row += MC) {
    const int block_end = min_int(block_row + MC, row_end);
    for (int col = col_begin; col < col_end; col += NR) {
      const int8_t *panel = panels + (col / NR) * NR * kp;
      const int columns = min_int(NR, col_end - col);
      for (int row = block_row; row < block_end; row += MR) {
        const int rows = min_int(MR, block_end - row);
        const qa_t *a = (const qa_t *)(qa + (row / MR) * block_bytes(k));
        block(a, panel, kp, rows, columns, rows_floats + row, pm, col_floats + col, np,
              out + (long)row * out_stride + col, out_stride);
      }
    }
  }
}

// out[row, col] for rows [row_begin, row_end) and columns [col_begin, col_end) of the m x n row-major float
// output. row_begin must be a multiple of int8_row_block() and col_begin of int8_panel_width() (or equal the end).
EXPORT(int8_matmul) void matmul(const uint8_t *qa, const uint8_t *packed, float *out, int m, int k, int n,
                                int row_begin, int row_end, int col_begin, int col_end) {
  matmul_into(qa, packed, out, m, k, n, n, row_begin, row_end, col_begin, col_end);
}

// ---- Attention: the per-head products of softmax(q k^T / sqrt(d) + bias) v in int8, both operands activations.

// Packs n columns of k floats (column c's value i at src[c * col_stride + i * step]) as weights in the layout of
// pack_weights: each column quantized over its own range (asymmetric: 8 bits for SIMD128, 7 for relaxed, whose
// weights must be in [0, 127]), no bias. Scalar: a head's two matrices are 64 x n values, a few percent of the
// head's time.
static void pack_columns(const float *src, int n, int k, int col_stride, int step, uint8_t *packed) {
  const int kp = padded_k(k), np = padded_n(n);
  float *floats = (float *)packed;
  int8_t *panels = (int8_t *)(packed + 16 * np);
#ifdef INT8_RELAXED
  const float levels = 127.0f, bottom = 0.0f;
#else
  const float levels = 255.0f, bottom = 128.0f;
#endif
  for (int col = 0; col < np; col++) {
    const int lane = col % NR;
    int8_t *dst = panels + (col / NR) * NR * kp + (lane / 4) * 4 * KSTEP + (lane % 4) * KSTEP;
    float scale = 0, offset = 0;
    int sum = 0, i = 0;
    if (col < n) {
      const float *values = src + (long)col * col_stride;
      float low = values[0], high = values[0], total = 0;
      for (i = 0; i < k; i++) {
        const float v = values[(long)i * step];
        low = v < low ? v : low;
        high = v > high ? v : high;
        total += v;
      }
      const float range = high - low;
      const float inverse = range > 0 ? levels / range : 0.0f;
      // A NaN (which the comparisons skip) makes the sum NaN: the scale then too, and the column's outputs.
      scale = total != total ? total : range / levels;
      offset = low + bottom * scale;
      for (i = 0; i < k; i++) {
        const float q = __builtin_nearbyintf((values[(long)i * step] - low) * inverse);
        const int u = (int)(q < 0 ? 0 : q > levels ? levels : q) - (int)bottom;
        sum += u;
        dst[(i / KSTEP) * NR * KSTEP + i % KSTEP] = (int8_t)u;
      }
    }
    for (; i < kp; i++) dst[(i / KSTEP) * NR * KSTEP + i % KSTEP] = 0;
    floats[col] = scale;
    floats[np + col] = 0;
    floats[2 * np + col] = offset;
    floats[3 * np + col] = scale * (float)sum + offset * (float)k;
  }
}

// e^x for 4 floats, x <= 0 (scores less their row's maximum): 2^n e^r with n = nearest(x / ln 2), |r| <= ln 2 / 2,
// e^r by its Taylor polynomial to r^6 (relative error below 2e-7); below -87 (e^x under float's normal range)
// taken as -87.
INLINE v128_t exp4(v128_t x) {
  const v128_t magic = wasm_f32x4_splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.0f));
  const v128_t t = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)), magic);
  const v128_t n = wasm_f32x4_sub(t, magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145752f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(1.42860677e-6f)));
  v128_t p = wasm_f32x4_splat(1.0f / 720.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  // 2^n: n + 127 in the exponent bits (t's low mantissa bits hold n as an integer, offset by magic's).
  const v128_t exponent = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_sub(t, magic), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, exponent);
}

// Row i of the n x n scores s becomes softmax(s[i] * scale + bias row i) in place (bias 0: none; bias rows
// bias_row_stride floats apart, 0: one row for all).
static void softmax_rows(float *s, int n, float scale, const float *bias, int bias_row_stride) {
  const int whole = n / 4 * 4;
  for (int row = 0; row < n; row++) {
    float *x = s + (long)row * n;
    const float *b = bias ? bias + (long)row * bias_row_stride : 0;
    const v128_t scale4 = wasm_f32x4_splat(scale);
    v128_t high4 = wasm_f32x4_splat(-3.4e38f);
    int i = 0;
    for (; i < whole; i += 4) {
      v128_t v = wasm_f32x4_mul(wasm_v128_load(x + i), scale4);
      if (b) v = wasm_f32x4_add(v, wasm_v128_load(b + i));
      wasm_v128_store(x + i, v);
      high4 = wasm_f32x4_pmax(high4, v);
    }
    float high = horizontal_max(high4);
    for (; i < n; i++) {
      const float v = x[i] * scale + (b ? b[i] : 0.0f);
      x[i] = v;
      high = v > high ? v : high;
    }
    const v128_t high_4 = wasm_f32x4_splat(high);
    v128_t total4 = wasm_f32x4_splat(0);
    for (i = 0; i < whole; i += 4) {
      const v128_t e = exp4(wasm_f32x4_sub(wasm_v128_load(x + i), high_4));
      wasm_v128_store(x + i, e);
      total4 = wasm_f32x4_add(total4, e);
    }
    float total = wasm_f32x4_extract_lane(total4, 0) + wasm_f32x4_extract_lane(total4, 1) +
                  wasm_f32x4_extract_lane(total4, 2) + wasm_f32x4_extract_lane(total4, 3);
    for (; i < n; i++) {
      x[i] = wasm_f32x4_extract_lane(exp4(wasm_f32x4_splat(x[i] - high)), 0);
      total += x[i];
    }
    const v128_t inverse = wasm_f32x4_splat(1.0f / total);
    for (i = 0; i < whole; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), inverse));
    for (; i < n; i++) x[i] *= 1.0f / total;
  }
}

// Scratch of one thread for one head at a time: q quantized, k packed, the scores (then probabilities), the
// probabilities quantized, v packed.
INLINE int scores_bytes(int n) { return 4 * n * n; }

EXPORT(int8_attention_scratch_bytes) int attention_scratch_bytes(int n, int head_dim) {
  return quantized_bytes(n, head_dim) + packed_bytes(head_dim, n) + scores_bytes(n) + quantized_bytes(n, n) +
         packed_bytes(n, head_dim);
}

// Heads [head_begin, head_end) of multi-head attention over n rows of qkv (q, k and v side by side, 3 * dim
// floats a row; head h's columns h * head_dim... of each): out (n rows of dim floats) gets each head's
// softmax(q k^T / sqrt(head_dim) + bias) v in its columns. bias: 0 (none), or head h's n x n table at
// bias + h * bias_head_stride, rows bias_row_stride apart (0: one row for all, a key mask). Every product in int8:
// q's rows and the probabilities' rows quantized as activations are, k's and v's columns packed as weights are.
EXPORT(int8_attention) void attention(const float *qkv, int n, int dim, int head_dim, int head_begin, int head_end,
                                      const float *bias, int bias_head_stride, int bias_row_stride, float *out,
                                      uint8_t *scratch) {
  uint8_t *q = scratch, *k = q + quantized_bytes(n, head_dim), *scores = k + packed_bytes(head_dim, n);
  uint8_t *probabilities = scores + scores_bytes(n), *v = probabilities + quantized_bytes(n, n);
  const float scale = 1.0f / __builtin_sqrtf((float)head_dim);
  for (int h = head_begin; h < head_end; h++) {
    const float *head = qkv + h * head_dim;
    quantize_rows(head, n, head_dim, q, 0, n, 3 * dim);
    pack_columns(head + dim, n, head_dim, 3 * dim, 1, k);
    matmul_into(q, k, (float *)scores, n, head_dim, n, n, 0, n, 0, n);
    softmax_rows((float *)scores, n, scale, bias ? bias + (long)h * bias_head_stride : 0, bias_row_stride);
    quantize_rows((const float *)scores, n, n, probabilities, 0, n, n);
    pack_columns(head + 2 * dim, head_dim, n, 1, 3 * dim, v);
    matmul_into(probabilities, v, out + h * head_dim, n, n, head_dim, dim, 0, n, 0, head_dim);
  }
}

// ---- Warm-up: V8 runs a fresh module in its baseline code, 3-4x slower than its optimizing compiler's, until a
// function has run for a while; the first real product would pay for that (measured, SIMD128: the first
// 500 x 1024 x 4096 product 215-226 ms on a fresh module, 70-100 ms after this 10 ms warm-up, 60-65 ms steady).

#define WARM_M 64
#define WARM_K 1024
#define WARM_N 512

EXPORT(int8_warm_up_bytes) int warm_up_bytes(void) {
  return quantized_bytes(WARM_M, WARM_K) + packed_bytes(WARM_K, WARM_N) + 4 * WARM_M * WARM_K + WARM_N * WARM_K + 4 * WARM_M * WARM_N;
}

// Runs one mid-size product and a little attention on the int8_warm_up_bytes() bytes at scratch (whatever they
// hold: only the running matters), overwriting them.
EXPORT(int8_warm_up) void warm_up(uint8_t *scratch) {
  uint8_t *quantized = scratch, *packed = quantized + quantized_bytes(WARM_M, WARM_K);
  uint8_t *x = packed + packed_bytes(WARM_K, WARM_N), *w = x + 4 * WARM_M * WARM_K, *out = w + WARM_N * WARM_K;
  pack_weights((const int8_t *)w, (const float *)x, 0, WARM_K, WARM_N, packed);
  quantize_rows((const float *)x, WARM_M, WARM_K, quantized, 0, WARM_M, WARM_K);
  matmul(quantized, packed, (float *)out, WARM_M, WARM_K, WARM_N, 0, WARM_M, 0, WARM_N);
  // Then two heads of attention over the same rows (64 rows of 3 x 256 floats; the products' buffers are free).
  attention((const float *)x, WARM_M, 256, 64, 0, 2, 0, 0, 0, (float *)out, quantized);
}
