;; GELU and LayerNorm + GELU, four float32 lanes at a time, run in place on the tfjs wasm backend's heap.
;; Source of src/backend/wasm/gelu-simd-module.ts (regenerate with `npx tsx src/backend/wasm/build-gelu-simd.ts`).
;; The memory import is declared shared in the variant built for tfjs' threaded build (the builder edits it).
;;
;; gelu(x) = x/2 (1 + erf(x / sqrt 2)), erf by Abramowitz & Stegun, Handbook of Mathematical Functions (1964),
;; formula 7.1.26: for a >= 0, 1 - erf(a) = q = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-a^2),
;; t = 1 / (1 + p a), |error| <= 1.5e-7. 1 + erf(z) is 2 - q for z >= 0 and q for z < 0 (no cancellation
;; in the negative tail). exp(-a^2) = 2^k 2^f with k = round(-a^2 log2 e), |f| <= 1/2, 2^f = e^g by its
;; Taylor series to g^7 (|g| <= 0.35: relative error < 1e-8), 2^k built in the exponent bits; k is held
;; at >= -126 (exp(-a^2) >= 1.2e-38 where it is smaller: a difference far below float32's resolution of gelu).
(module
  (import "env" "memory" (memory 1 65536))

  (func $gelu4 (param $x v128) (result v128)
    (local $z v128) (local $a v128) (local $t v128) (local $y v128) (local $k v128) (local $g v128)
    (local $e v128) (local $q v128)
    ;; z = x / sqrt 2, a = |z|, t = 1 / (1 + p a)
    (local.set $z (f32x4.mul (local.get $x) (v128.const f32x4 0.70710678 0.70710678 0.70710678 0.70710678)))
    (local.set $a (f32x4.abs (local.get $z)))
    (local.set $t (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $a) (v128.const f32x4 0.3275911 0.3275911 0.3275911 0.3275911)))))
    ;; y = max(-a^2 log2 e, -126); k = round(y); g = (y - k) ln 2
    (local.set $y (f32x4.max
      (f32x4.mul (f32x4.neg (f32x4.mul (local.get $a) (local.get $a))) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))
      (v128.const f32x4 -126 -126 -126 -126)))
    (local.set $k (f32x4.nearest (local.get $y)))
    (local.set $g (f32x4.mul (f32x4.sub (local.get $y) (local.get $k)) (v128.const f32x4 0.69314718 0.69314718 0.69314718 0.69314718)))
    ;; e = 1 + g (1 + g (1/2 + g (1/6 + g (1/24 + g (1/120 + g (1/720 + g / 5040))))))
    (local.set $e (f32x4.add (v128.const f32x4 0.0013888889 0.0013888889 0.0013888889 0.0013888889)
      (f32x4.mul (local.get $g) (v128.const f32x4 0.00019841270 0.00019841270 0.00019841270 0.00019841270))))
    (local.set $e (f32x4.add (v128.const f32x4 0.0083333333 0.0083333333 0.0083333333 0.0083333333) (f32x4.mul (local.get $g) (local.get $e))))
    (local.set $e (f32x4.add (v128.const f32x4 0.041666667 0.041666667 0.041666667 0.041666667) (f32x4.mul (local.get $g) (local.get $e))))
    (local.set $e (f32x4.add (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667) (f32x4.mul (local.get $g) (local.get $e))))
    (local.set $e (f32x4.add (v128.const f32x4 0.5 0.5 0.5 0.5) (f32x4.mul (local.get $g) (local.get $e))))
    (local.set $e (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $g) (local.get $e))))
    (local.set $e (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (local.get $g) (local.get $e))))
    ;; times 2^k: (k + 127) << 23 is the float32 bit pattern of 2^k
    (local.set $e (f32x4.mul (local.get $e)
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
    ;; q = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e
    (local.set $q (f32x4.add (v128.const f32x4 -1.453152027 -1.453152027 -1.453152027 -1.453152027)
      (f32x4.mul (local.get $t) (v128.const f32x4 1.061405429 1.061405429 1.061405429 1.061405429))))
    (local.set $q (f32x4.add (v128.const f32x4 1.421413741 1.421413741 1.421413741 1.421413741) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $q (f32x4.add (v128.const f32x4 -0.284496736 -0.284496736 -0.284496736 -0.284496736) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $q (f32x4.add (v128.const f32x4 0.254829592 0.254829592 0.254829592 0.254829592) (f32x4.mul (local.get $t) (local.get $q))))
    (local.set $q (f32x4.mul (f32x4.mul (local.get $t) (local.get $q)) (local.get $e)))
    ;; x/2 (z < 0 ? q : 2 - q)
    (f32x4.mul (f32x4.mul (local.get $x) (v128.const f32x4 0.5 0.5 0.5 0.5))
      (v128.bitselect (local.get $q) (f32x4.sub (v128.const f32x4 2 2 2 2) (local.get $q))
        (f32x4.lt (local.get $z) (v128.const f32x4 0 0 0 0)))))

  ;; dst[i] = gelu(src[i]) for i < n (byte addresses; src and dst may be equal).
  (func (export "gelu") (param $src i32) (param $dst i32) (param $n i32)
    (local $end i32) (local $vectorEnd i32)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $n) (i32.const 2))))
    (local.set $vectorEnd (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vectors
        (br_if $done (i32.ge_u (local.get $src) (local.get $vectorEnd)))
        (v128.store align=4 (local.get $dst) (call $gelu4 (v128.load align=4 (local.get $src))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br $vectors)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $src) (local.get $end)))
        (f32.store (local.get $dst) (f32x4.extract_lane 0 (call $gelu4 (f32x4.splat (f32.load (local.get $src))))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $tail))))

  ;; Sum of the width floats at p.
  (func $rowSum (param $p i32) (param $width i32) (result f32)
    (local $end i32) (local $vectorEnd i32) (local $acc v128) (local $sum f32)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $width) (i32.const 2))))
    (local.set $vectorEnd (i32.add (local.get $p) (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vectors
        (br_if $done (i32.ge_u (local.get $p) (local.get $vectorEnd)))
        (local.set $acc (f32x4.add (local.get $acc) (v128.load align=4 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $vectors)))
    (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $sum (f32.add (local.get $sum) (f32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (local.get $sum))

  ;; Sum of (v - mean)^2 over the width floats at p.
  (func $rowSquares (param $p i32) (param $width i32) (param $mean f32) (result f32)
    (local $end i32) (local $vectorEnd i32) (local $acc v128) (local $m v128) (local $d v128) (local $sum f32) (local $s f32)
    (local.set $m (f32x4.splat (local.get $mean)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $width) (i32.const 2))))
    (local.set $vectorEnd (i32.add (local.get $p) (i32.shl (i32.and (local.get $width) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $vectors
        (br_if $done (i32.ge_u (local.get $p) (local.get $vectorEnd)))
        (local.set $d (f32x4.sub (v128.load align=4 (local.get $p)) (local.get $m)))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $vectors)))
    (local.set $sum (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $s (f32.sub (f32.load (local.get $p)) (local.get $mean)))
        (local.set $sum (f32.add (local.get $sum) (f32.mul (local.get $s) (local.get $s))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $tail)))
    (local.get $sum))

  ;; Each of the rows of width floats at src: LayerNorm (biased variance, eps inside the square root, gain and
  ;; shift of width floats), then GELU, written to dst (may equal src).
  (func (export "layer_norm_gelu") (param $src i32) (param $dst i32) (param $rows i32) (param $width i32)
      (param $gain i32) (param $shift i32) (param $eps f32)
    (local $row i32) (local $i i32) (local $vectorWidth i32) (local $mean f32) (local $scale f32)
    (local $meanV v128) (local $scaleV v128) (local $offset i32)
    (local.set $vectorWidth (i32.and (local.get $width) (i32.const -4)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $mean (f32.div (call $rowSum (local.get $src) (local.get $width)) (f32.convert_i32_u (local.get $width))))
        (local.set $scale (f32.div (f32.const 1) (f32.sqrt (f32.add (local.get $eps)
          (f32.div (call $rowSquares (local.get $src) (local.get $width) (local.get $mean)) (f32.convert_i32_u (local.get $width)))))))
        (local.set $meanV (f32x4.splat (local.get $mean)))
        (local.set $scaleV (f32x4.splat (local.get $scale)))
        (local.set $i (i32.const 0))
        (block $vectorsDone
          (loop $vectors
            (br_if $vectorsDone (i32.ge_u (local.get $i) (local.get $vectorWidth)))
            (local.set $offset (i32.shl (local.get $i) (i32.const 2)))
            (v128.store align=4 (i32.add (local.get $dst) (local.get $offset))
              (call $gelu4 (f32x4.add
                (f32x4.mul
                  (f32x4.mul (f32x4.sub (v128.load align=4 (i32.add (local.get $src) (local.get $offset))) (local.get $meanV)) (local.get $scaleV))
                  (v128.load align=4 (i32.add (local.get $gain) (local.get $offset))))
                (v128.load align=4 (i32.add (local.get $shift) (local.get $offset))))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $vectors)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $i) (local.get $width)))
            (local.set $offset (i32.shl (local.get $i) (i32.const 2)))
            (f32.store (i32.add (local.get $dst) (local.get $offset))
              (f32x4.extract_lane 0 (call $gelu4 (f32x4.splat (f32.add
                (f32.mul
                  (f32.mul (f32.sub (f32.load (i32.add (local.get $src) (local.get $offset))) (local.get $mean)) (local.get $scale))
                  (f32.load (i32.add (local.get $gain) (local.get $offset))))
                (f32.load (i32.add (local.get $shift) (local.get $offset))))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $tail)))
        (local.set $src (i32.add (local.get $src) (i32.shl (local.get $width) (i32.const 2))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $width) (i32.const 2))))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop))))
)
