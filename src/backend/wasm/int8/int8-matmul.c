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

// Output columns per packed panel (two vectors of four int32 accumulators per row).
#define NR 8
// Rows per register block.
#define MR 4
// k values one accumulator lane takes per step: 2 (dot_i16x8_s) or 4 (relaxed_dot_i8x16_i7x16_add_s).
#ifdef INT8_RELAXED
#define KSTEP 4
typedef uint8_t qa_t;
#else
#define KSTEP 2
typedef int16_t qa_t;
#endif
// Rows of A per cache block: their quantized rows stay in L2 while every panel of the column range passes.
#define MC 64

INLINE int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }
INLINE int min_int(int a, int b) { return a < b ? a : b; }

// ---- Quantized activations: m rows of kp = round_up(k, KSTEP) values, then float scale[m] (and offset[m]).

INLINE int padded_k(int k) { return round_up(k, KSTEP); }
INLINE int row_bytes(int k) { return round_up(padded_k(k) * (int)sizeof(qa_t), 16); }

EXPORT(int8_quantized_bytes) int quantized_bytes(int m, int k) {
#ifdef INT8_RELAXED
  return m * row_bytes(k) + 8 * m;
#else
  return m * row_bytes(k) + 4 * m;
#endif
}

INLINE const float *row_scales(const uint8_t *qa, int m, int k) { return (const float *)(qa + m * row_bytes(k)); }

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

// Quantizes rows [row_begin, row_end) of the m x k float rows at x into the layout above at qa.
EXPORT(int8_quantize_rows) void quantize_rows(const float *x, int m, int k, uint8_t *qa, int row_begin, int row_end) {
  const int kp = padded_k(k);
  float *scales = (float *)(qa + m * row_bytes(k));
  for (int row = row_begin; row < row_end; row++) {
    const float *src = x + (long)row * k;
    qa_t *dst = (qa_t *)(qa + row * row_bytes(k));
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
    scales[row] = range / 127.0f;
    scales[m + row] = low;
    const v128_t inv4 = wasm_f32x4_splat(inverse), low_4 = wasm_f32x4_splat(low);
    const v128_t top = wasm_i16x8_splat(127), zero = wasm_i16x8_splat(0);
    for (i = 0; i + 8 <= k; i += 8) {
      v128_t a = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(src + i), low_4), inv4);
      v128_t b = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(src + i + 4), low_4), inv4);
      v128_t q = wasm_i16x8_min(wasm_i16x8_max(round_to_i16(a, b), zero), top);
      wasm_v128_store64_lane(dst + i, wasm_u8x16_narrow_i16x8(q, q), 0);
    }
    for (; i < k; i++) {
      float q = __builtin_nearbyintf((src[i] - low) * inverse);
      dst[i] = (qa_t)(q < 0 ? 0 : q > 127 ? 127 : q);
    }
#else
    v128_t largest4 = wasm_f32x4_splat(0);
    for (; i + 4 <= k; i += 4) largest4 = wasm_f32x4_max(largest4, wasm_f32x4_abs(wasm_v128_load(src + i)));
    float largest = horizontal_max(largest4);
    for (; i < k; i++) {
      float a = __builtin_fabsf(src[i]);
      largest = a > largest ? a : largest;
    }
    const float inverse = largest > 0 ? 127.0f / largest : 0.0f;
    scales[row] = largest / 127.0f;
    const v128_t inv4 = wasm_f32x4_splat(inverse);
    const v128_t top = wasm_i16x8_splat(127), bottom = wasm_i16x8_splat(-127);
    for (i = 0; i + 8 <= k; i += 8) {
      v128_t q = round_to_i16(wasm_f32x4_mul(wasm_v128_load(src + i), inv4), wasm_f32x4_mul(wasm_v128_load(src + i + 4), inv4));
      wasm_v128_store(dst + i, wasm_i16x8_min(wasm_i16x8_max(q, bottom), top));
    }
    for (; i < k; i++) {
      float q = __builtin_nearbyintf(src[i] * inverse);
      dst[i] = (qa_t)(q < -127 ? -127 : q > 127 ? 127 : q);
    }
#endif
    for (; i < kp; i++) dst[i] = 0;
  }
}

// ---- Packed weights: float scale[np], bias[np] (and sw * R: correction[np]), then np / NR panels, each kp / KSTEP
// groups of NR * KSTEP bytes: two vectors of four columns x KSTEP consecutive k (column-major inside a vector).

INLINE int padded_n(int n) { return round_up(n, NR); }

EXPORT(int8_packed_bytes) int packed_bytes(int k, int n) {
#ifdef INT8_RELAXED
  return 12 * padded_n(n) + padded_n(n) * padded_k(k);
#else
  return 8 * padded_n(n) + padded_n(n) * padded_k(k);
#endif
}

EXPORT(int8_panel_width) int panel_width(void) { return NR; }

#ifdef INT8_RELAXED
#define PACKED_FLOATS 3
#else
#define PACKED_FLOATS 2
#endif

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
      int at = (i / KSTEP) * NR * KSTEP + (lane / 4) * 4 * KSTEP + (lane % 4) * KSTEP + i % KSTEP;
      panel[at] = col < n && i < k ? w[(long)col * k + i] : 0;
    }
  }
}

// ---- The product.

// One block of `rows` (1..MR) rows x NR columns over the whole of k, written to out (row stride n) for the
// columns below n.
INLINE void block(const qa_t *a, int a_stride, const int8_t *panel, int kp, int rows, const float *row_scale,
                  const float *row_offset, const float *col_scale, const float *col_bias, const float *col_correction,
                  float *out, int n, int columns) {
  v128_t acc[MR][2];
  for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = wasm_i32x4_splat(0);
  const qa_t *a_row[MR];
  for (int r = 0; r < MR; r++) a_row[r] = a + (r < rows ? r : 0) * a_stride;
  for (int i = 0; i < kp; i += KSTEP) {
#ifdef INT8_RELAXED
    const v128_t w0 = wasm_v128_load(panel), w1 = wasm_v128_load(panel + 16);
    panel += 32;
    for (int r = 0; r < MR; r++) {
      if (r >= rows) break;
      const v128_t x = wasm_v128_load32_splat(a_row[r] + i);
      acc[r][0] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w0, x, acc[r][0]);
      acc[r][1] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(w1, x, acc[r][1]);
    }
#else
    const v128_t w0 = wasm_i16x8_load8x8(panel), w1 = wasm_i16x8_load8x8(panel + 8);
    panel += 16;
    for (int r = 0; r < MR; r++) {
      if (r >= rows) break;
      const v128_t x = wasm_v128_load32_splat(a_row[r] + i);
      acc[r][0] = wasm_i32x4_add(acc[r][0], wasm_i32x4_dot_i16x8(x, w0));
      acc[r][1] = wasm_i32x4_add(acc[r][1], wasm_i32x4_dot_i16x8(x, w1));
    }
#endif
  }
  for (int r = 0; r < MR; r++) {
    if (r >= rows) break;
    const v128_t sa = wasm_f32x4_splat(row_scale[r]);
    for (int h = 0; h < 2; h++) {
      v128_t value = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][h]), wasm_f32x4_mul(sa, wasm_v128_load(col_scale + 4 * h)));
      value = wasm_f32x4_add(value, wasm_v128_load(col_bias + 4 * h));
#ifdef INT8_RELAXED
      value = wasm_f32x4_add(value, wasm_f32x4_mul(wasm_f32x4_splat(row_offset[r]), wasm_v128_load(col_correction + 4 * h)));
#endif
      float *dst = out + r * n + 4 * h;
      if (columns >= 4 * h + 4) {
        wasm_v128_store(dst, value);
      } else {
        // No array: it would live on a stack in linear memory, which this module must not have.
        const int left = columns - 4 * h;
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
  const int kp = padded_k(k), np = padded_n(n), a_stride = row_bytes(k) / (int)sizeof(qa_t);
  const float *scales = row_scales(qa, m, k);
  const float *col_scale = (const float *)packed, *col_bias = col_scale + np, *col_correction = col_scale + 2 * np;
  const int8_t *panels = (const int8_t *)(packed + PACKED_FLOATS * 4 * np);
  if (col_end > n) col_end = n;
  for (int block_row = row_begin; block_row < row_end; block_row += MC) {
    const int block_end = min_int(block_row + MC, row_end);
    for (int col = col_begin; col < col_end; col += NR) {
      const int8_t *panel = panels + (col / NR) * NR * kp;
      const int columns = min_int(NR, col_end - col);
      for (int row = block_row; row < block_end; row += MR) {
        const int rows = min_int(MR, block_end - row);
        const qa_t *a = (const qa_t *)(qa + row * row_bytes(k));
        float *dst = out + (long)row * n + col;
        const float *offsets = scales + m + row;
        switch (rows) {
          case 4: block(a, a_stride, panel, kp, 4, scales + row, offsets, col_scale + col, col_bias + col, col_correction + col, dst, n, columns); break;
          case 3: block(a, a_stride, panel, kp, 3, scales + row, offsets, col_scale + col, col_bias + col, col_correction + col, dst, n, columns); break;
          case 2: block(a, a_stride, panel, kp, 2, scales + row, offsets, col_scale + col, col_bias + col, col_correction + col, dst, n, columns); break;
          default: block(a, a_stride, panel, kp, 1, scales + row, offsets, col_scale + col, col_bias + col, col_correction + col, dst, n, columns); break;
        }
      }
    }
  }
}
