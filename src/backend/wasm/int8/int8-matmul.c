// int8 matrix products for the wasm backend: out = dequant(A) x dequant(W)^T + bias, with A quantized per row at
// run time and W quantized per output channel at conversion (int8, symmetric, one scale per channel).
//
// Built twice by build.ts: SIMD128 only (i32x4.dot_i16x8_s, every wasm SIMD runtime) and with relaxed SIMD
// (i32x4.relaxed_dot_i8x16_i7x16_add_s, -DINT8_RELAXED). Both export the same functions; the layouts differ.
//
// The module owns no memory: it imports the caller's (tfjs' heap, plain or shared), has no data segment and
// never touches a stack in linear memory (build.ts checks both), so it can run on memory it does not manage.
// Every pointer is a byte address in that memory; the caller allocates with the *_bytes functions.
//
// Arithmetic: acc[m,n] = sum_k qa[m,k] * qw[n,k] is exact in int32 (|acc| <= K * 127 * 127 < 2^31 for
// K < 133 000), then out[m,n] = float(acc) * (sa[m] * sw[n]) + bias[n] in float32.
//
// SIMD128: qa = nearest(x * 127 / absmax(row)) in [-127, 127], stored as int16 (the operand of dot_i16x8_s).
// Relaxed: the second operand of relaxed_dot must be 7-bit non-negative ([0, 127]: with its top bit set the
// product is implementation-defined, signed on some hosts and unsigned on others), so rows are quantized
// asymmetrically: qa = nearest((x - min) * 127 / (max - min)) in [0, 127], x ~ sa * qa + min, and the min's
// share is added back through the weights' per-channel sums: out = sw (sa acc + min R[n]) + bias,
// R[n] = sum_k qw[n,k]. The weights (signed, full int8) are the first operand. One bit less resolution than
// the symmetric int8 of the SIMD128 path for rows symmetric around 0, the same for one-sided rows (GELU output).
#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE static inline __attribute__((always_inline))

// Register block: MR rows x NR columns of int32 accumulators (NR / 4 vectors per row). Measured on a Zen 4
// (V8 11.3): 4 x 8 beat 5 x 8, 6 x 8, 3 x 12 and 2 x 16 (V8 spills their accumulators or the extra loads cost
// more), and unrolling the k loop was slower (clang then reorders the steps and V8 spills). The broadcasts of A
// are what limits the SIMD128 kernel: one load per two dot products.
#define MR 4
#define NR 8
#define NV (NR / 4)
// k values one accumulator lane takes per step: 2 (dot_i16x8_s) or 4 (relaxed_dot_i8x16_i7x16_add_s); k is
// padded with zeros to a multiple of it.
#ifdef INT8_RELAXED
#define KSTEP 4
typedef uint8_t qa_t;
#else
#define KSTEP 2
typedef int16_t qa_t;
#endif
// Rows of A per cache block: their quantized rows stay in L2 while every panel of the column range passes
// (measured: 4 to 125 blocks of MR rows made no difference at the model's shapes, with a 32 MB L3).
#define MC (MR * 16)

INLINE int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }
INLINE int min_int(int a, int b) { return a < b ? a : b; }

INLINE int padded_k(int k) { return round_up(k, KSTEP); }
INLINE int padded_m(int m) { return round_up(m, MR); }
INLINE int padded_n(int n) { return round_up(n, NR); }

// ---- Quantized activations: padded_m(m) / MR blocks of MR rows, each padded_k(k) / KSTEP groups of MR x KSTEP
// values (row-major inside a group: the KSTEP values of row 0, then of row 1, ...), rows past m all zero; then
// float scale[padded_m] (and offset[padded_m]).

INLINE int block_bytes(int k) { return MR * padded_k(k) * (int)sizeof(qa_t); }

EXPORT(int8_quantized_bytes) int quantized_bytes(int m, int k) {
#ifdef INT8_RELAXED
  return padded_m(m) / MR * block_bytes(k) + 8 * padded_m(m);
#else
  return padded_m(m) / MR * block_bytes(k) + 4 * padded_m(m);
#endif
}

INLINE float *row_scales(uint8_t *qa, int m, int k) { return (float *)(qa + padded_m(m) / MR * block_bytes(k)); }

INLINE float horizontal_max(v128_t v) {
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_max(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}

#ifdef INT8_RELAXED
INLINE float horizontal_min(v128_t v) {
  v = wasm_f32x4_min(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
  v = wasm_f32x4_min(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(v, 0);
}
#endif

// Rounds 8 floats (already scaled) to nearest, ties to even, and narrows them to int16 with saturation.
INLINE v128_t round_to_i16(v128_t low, v128_t high) {
  return wasm_i16x8_narrow_i32x4(wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(low)),
                                 wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(high)));
}

// Quantizes one row of k floats into its MR-interleaved place (first group at dst, groups MR * KSTEP apart) and
// returns its scale; relaxed: its offset in *offset.
INLINE float quantize_row(const float *src, int k, qa_t *dst, float *offset) {
  const int kp = padded_k(k), stride = MR * KSTEP;
  int i = 0;
#ifdef INT8_RELAXED
  v128_t low4 = wasm_f32x4_splat(src[0]), high4 = low4;
  for (; i + 4 <= k; i += 4) {
    v128_t v = wasm_v128_load(src + i);
    low4 = wasm_f32x4_min(low4, v);
    high4 = wasm_f32x4_max(high4, v);
  }
  float low = horizontal_min(low4), high = horizontal_max(high4);
  for (; i < k; i++) {
    low = src[i] < low ? src[i] : low;
    high = src[i] > high ? src[i] : high;
  }
  const float range = high - low;
  const float inverse = range > 0 ? 127.0f / range : 0.0f;
  *offset = low;
  const v128_t inv4 = wasm_f32x4_splat(inverse), low_4 = wasm_f32x4_splat(low);
  const v128_t top = wasm_i16x8_splat(127), zero = wasm_i16x8_splat(0);
  for (i = 0; i + 8 <= k; i += 8) {
    v128_t a = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(src + i), low_4), inv4);
    v128_t b = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(src + i + 4), low_4), inv4);
    v128_t q = wasm_i16x8_min(wasm_i16x8_max(round_to_i16(a, b), zero), top);
    q = wasm_u8x16_narrow_i16x8(q, q);
    // Two groups of four bytes.
    wasm_v128_store32_lane(dst + (i / KSTEP) * stride, q, 0);
    wasm_v128_store32_lane(dst + (i / KSTEP + 1) * stride, q, 1);
  }
  for (; i < kp; i++) {
    const float q = i < k ? __builtin_nearbyintf((src[i] - low) * inverse) : 0.0f;
    dst[(i / KSTEP) * stride + i % KSTEP] = (qa_t)(q < 0 ? 0 : q > 127 ? 127 : q);
  }
  return range / 127.0f;
#else
  (void)offset;
  v128_t largest4 = wasm_f32x4_splat(0);
  for (; i + 4 <= k; i += 4) largest4 = wasm_f32x4_max(largest4, wasm_f32x4_abs(wasm_v128_load(src + i)));
  float largest = horizontal_max(largest4);
  for (; i < k; i++) {
    const float a = __builtin_fabsf(src[i]);
    largest = a > largest ? a : largest;
  }
  const float inverse = largest > 0 ? 127.0f / largest : 0.0f;
  const v128_t inv4 = wasm_f32x4_splat(inverse);
  const v128_t top = wasm_i16x8_splat(127), bottom = wasm_i16x8_splat(-127);
  for (i = 0; i + 8 <= k; i += 8) {
    v128_t q = round_to_i16(wasm_f32x4_mul(wasm_v128_load(src + i), inv4), wasm_f32x4_mul(wasm_v128_load(src + i + 4), inv4));
    q = wasm_i16x8_min(wasm_i16x8_max(q, bottom), top);
    // Four groups of two int16.
    wasm_v128_store32_lane(dst + (i / KSTEP) * stride, q, 0);
    wasm_v128_store32_lane(dst + (i / KSTEP + 1) * stride, q, 1);
    wasm_v128_store32_lane(dst + (i / KSTEP + 2) * stride, q, 2);
    wasm_v128_store32_lane(dst + (i / KSTEP + 3) * stride, q, 3);
  }
  for (; i < kp; i++) {
    const float q = i < k ? __builtin_nearbyintf(src[i] * inverse) : 0.0f;
    dst[(i / KSTEP) * stride + i % KSTEP] = (qa_t)(q < -127 ? -127 : q > 127 ? 127 : q);
  }
  return largest / 127.0f;
#endif
}

// Quantizes rows [row_begin, row_end) of the m x k float rows at x into the layout above at qa. row_begin must be
// a multiple of int8_row_block() (or equal row_end); the block holding row m - 1 gets its padding rows zeroed
// by whoever quantizes row m - 1.
EXPORT(int8_quantize_rows) void quantize_rows(const float *x, int m, int k, uint8_t *qa, int row_begin, int row_end) {
  float *scales = row_scales(qa, m, k);
  for (int row = row_begin; row < row_end; row++) {
    qa_t *dst = (qa_t *)(qa + (row / MR) * block_bytes(k)) + (row % MR) * KSTEP;
    float offset = 0;
    scales[row] = quantize_row(x + (long)row * k, k, dst, &offset);
#ifdef INT8_RELAXED
    scales[padded_m(m) + row] = offset;
#endif
  }
  if (row_end == m) {
    for (int row = m; row < padded_m(m); row++) {
      qa_t *dst = (qa_t *)(qa + (row / MR) * block_bytes(k)) + (row % MR) * KSTEP;
      for (int i = 0; i < padded_k(k); i += KSTEP)
        for (int j = 0; j < KSTEP; j++) dst[i * MR + j] = 0;
      scales[row] = 0;
#ifdef INT8_RELAXED
      scales[padded_m(m) + row] = 0;
#endif
    }
  }
}

EXPORT(int8_row_block) int row_block(void) { return MR; }

// ---- Packed weights: float scale[np], bias[np] (and sw * R: correction[np]), then np / NR panels, each kp / KSTEP
// groups of NR * KSTEP bytes: NV vectors of four columns x KSTEP consecutive k (column-major inside a vector).

#ifdef INT8_RELAXED
#define PACKED_FLOATS 3
#else
#define PACKED_FLOATS 2
#endif

EXPORT(int8_packed_bytes) int packed_bytes(int k, int n) { return PACKED_FLOATS * 4 * padded_n(n) + padded_n(n) * padded_k(k); }

EXPORT(int8_panel_width) int panel_width(void) { return NR; }

// Packs the int8 weights w (n rows of k: PyTorch's (out, in) layout), their n scales and n biases (bias may be
// 0: none) into the layout above at packed.
EXPORT(int8_pack_weights) void pack_weights(const int8_t *w, const float *scales, const float *bias, int k, int n, uint8_t *packed) {
  const int kp = padded_k(k), np = padded_n(n);
  float *packed_scales = (float *)packed, *packed_bias = packed_scales + np;
  int8_t *panels = (int8_t *)(packed + PACKED_FLOATS * 4 * np);
  for (int col = 0; col < np; col++) {
    packed_scales[col] = col < n ? scales[col] : 0.0f;
    packed_bias[col] = col < n && bias ? bias[col] : 0.0f;
#ifdef INT8_RELAXED
    int sum = 0;
    if (col < n)
      for (int i = 0; i < k; i++) sum += w[(long)col * k + i];
    packed_scales[2 * np + col] = col < n ? scales[col] * (float)sum : 0.0f;
#endif
  }
  for (int col = 0; col < np; col++) {
    int8_t *panel = panels + (col / NR) * NR * kp;
    const int lane = col % NR;
    for (int i = 0; i < kp; i++) {
      // group (i / KSTEP), vector (lane / 4), column (lane % 4), position (i % KSTEP)
      const int at = (i / KSTEP) * NR * KSTEP + (lane / 4) * 4 * KSTEP + (lane % 4) * KSTEP + i % KSTEP;
      panel[at] = col < n && i < k ? w[(long)col * k + i] : 0;
    }
  }
}

// ---- The product.

// acc[r][v] += the products of one group: MR rows (a: MR x KSTEP values) by NV vectors of four columns (w).
INLINE void step(v128_t acc[MR][NV], const qa_t *a, const int8_t *w) {
  v128_t wv[NV];
#ifdef INT8_RELAXED
  for (int v = 0; v < NV; v++) wv[v] = wasm_v128_load(w + 16 * v);
  for (int r = 0; r < MR; r++) {
    const v128_t x = wasm_v128_load32_splat(a + r * KSTEP);
    for (int v = 0; v < NV; v++) {
      // V8 without AVX-VNNI makes this five instructions (pmaddubsw, pmaddwd with ones built in place, paddd);
      // relaxed_dot_i8x16_i7x16_s + extadd_pairwise + add measured slower here, and would lose the single
      // instruction of VNNI and Arm's sdot.
      acc[r][v] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wv[v], x, acc[r][v]);
    }
  }
#else
  for (int v = 0; v < NV; v++) wv[v] = wasm_i16x8_load8x8(w + 8 * v);
  for (int r = 0; r < MR; r++) {
    const v128_t x = wasm_v128_load32_splat(a + r * KSTEP);
    for (int v = 0; v < NV; v++) acc[r][v] = wasm_i32x4_add(acc[r][v], wasm_i32x4_dot_i16x8(x, wv[v]));
  }
#endif
}

// One register block: MR rows (a: their interleaved groups) x NR columns (panel) over kp, then the scales, bias
// (and offsets) applied and `rows` x `columns` of it written to out (row stride n).
INLINE void block(const qa_t *a, const int8_t *panel, int kp, int rows, int columns, const float *row_scale,
                  const float *row_offset, const float *col_scale, const float *col_bias, const float *col_correction,
                  float *out, int n) {
  v128_t acc[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = wasm_i32x4_splat(0);
  for (int i = 0; i < kp; i += KSTEP) {
    step(acc, a, panel);
    a += MR * KSTEP;
    panel += NR * KSTEP;
  }
  for (int r = 0; r < MR; r++) {
    if (r >= rows) break;
    const v128_t sa = wasm_f32x4_splat(row_scale[r]);
    for (int v = 0; v < NV; v++) {
      v128_t value = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][v]), wasm_f32x4_mul(sa, wasm_v128_load(col_scale + 4 * v)));
      value = wasm_f32x4_add(value, wasm_v128_load(col_bias + 4 * v));
#ifdef INT8_RELAXED
      value = wasm_f32x4_add(value, wasm_f32x4_mul(wasm_f32x4_splat(row_offset[r]), wasm_v128_load(col_correction + 4 * v)));
#else
      (void)row_offset;
      (void)col_correction;
#endif
      float *dst = out + r * n + 4 * v;
      const int left = columns - 4 * v;
      if (left >= 4) {
        wasm_v128_store(dst, value);
      } else {
        // Lane by lane: an array would live on a stack in linear memory, which this module must not have.
        if (left > 0) dst[0] = wasm_f32x4_extract_lane(value, 0);
        if (left > 1) dst[1] = wasm_f32x4_extract_lane(value, 1);
        if (left > 2) dst[2] = wasm_f32x4_extract_lane(value, 2);
      }
    }
  }
}

// out[row, col] for rows [row_begin, row_end) and columns [col_begin, col_end) of the m x n row-major float
// output; col_begin must be a multiple of int8_panel_width() (threads split the columns by panels).
EXPORT(int8_matmul) void matmul(const uint8_t *qa, const uint8_t *packed, float *out, int m, int k, int n,
                                int row_begin, int row_end, int col_begin, int col_end) {
  const int kp = padded_k(k), np = padded_n(n);
  const float *scales = row_scales((uint8_t *)qa, m, k), *offsets = scales + padded_m(m);
  const float *col_scale = (const float *)packed, *col_bias = col_scale + np, *col_correction = col_scale + 2 * np;
  const int8_t *panels = (const int8_t *)(packed + PACKED_FLOATS * 4 * np);
  for (int block_row = row_begin; block_row < row_end; block_row += MC) {
    const int block_end = min_int(block_row + MC, row_end);
    for (int col = col_begin; col < col_end; col += NR) {
      const int8_t *panel = panels + (col / NR) * NR * kp;
      const int columns = min_int(NR, col_end - col);
      for (int row = block_row; row < block_end; row += MR) {
        const int rows = min_int(MR, block_end - row);
        const qa_t *a = (const qa_t *)(qa + (row / MR) * block_bytes(k)) + (row % MR) * KSTEP;
        block(a, panel, kp, rows, columns, scales + row, offsets + row, col_scale + col, col_bias + col,
              col_correction + col, out + (long)row * n + col, n);
      }
    }
  }
}
