;; The relaxed dot product on its own, so that int8-matmul.ts can check a runtime computes it right before it
;; trusts the relaxed kernels: validating the opcode is not enough (Node 20's V8, with the flag that enables relaxed
;; SIMD, has a baseline compiler that overwrites the accumulator and returns twice the product instead of the sum).
;; Built into int8-matmul-module.ts by build.ts.
(module
  (memory (export "memory") 1)

  ;; out = relaxed_dot_i8x16_i7x16_add_s(a, b, c): 16 bytes at each address.
  (func (export "dot") (param $a i32) (param $b i32) (param $c i32) (param $out i32)
    (v128.store (local.get $out)
      (i32x4.relaxed_dot_i8x16_i7x16_add_s (v128.load (local.get $a)) (v128.load (local.get $b)) (v128.load (local.get $c)))))

  ;; The kernels' pattern: an accumulator carried in a local through a loop of `steps` products of the 16-byte
  ;; vectors at a and b (advancing 16 bytes each step), from zero.
  (func (export "accumulate") (param $a i32) (param $b i32) (param $steps i32) (param $out i32)
    (local $acc v128)
    (block $done
      (loop $step
        (br_if $done (i32.eqz (local.get $steps)))
        (local.set $acc (i32x4.relaxed_dot_i8x16_i7x16_add_s (v128.load (local.get $a)) (v128.load (local.get $b)) (local.get $acc)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $steps (i32.sub (local.get $steps) (i32.const 1)))
        (br $step)))
    (v128.store (local.get $out) (local.get $acc)))
)
