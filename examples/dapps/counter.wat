;; counter: the smallest stateful dApp.
;;
;; action "increment" (capabilities state.read, state.write)
;;   input : ignored (any JSON payload, e.g. {})
;;   state : key "count" holds the count as decimal ASCII text ("41"); absent means 0
;;   effect: writes count+1 to "count"
;;   result: {"count":N} with the new count
;;   fails (returns 1) when the stored count is not 1 to 18 decimal digits
(module
  (import "dde" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "dde" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (import "dde" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 1024) "count")
  (data (i32.const 1040) "{\"count\":")
  (data (i32.const 1056) "}")

  ;; 1 to 18 ASCII digits at [p, p+n) -> value, or -1 when malformed (18 digits cannot overflow).
  (func $parse_dec (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $c i32) (local $v i64)
    (if (i32.or (i32.eqz (local.get $n)) (i32.gt_u (local.get $n) (i32.const 18)))
      (then (return (i64.const -1))))
    (loop $digits
      (local.set $c (i32.load8_u (i32.add (local.get $p) (local.get $i))))
      (if (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57)))
        (then (return (i64.const -1))))
      (local.set $v (i64.add (i64.mul (local.get $v) (i64.const 10))
                             (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $v))

  ;; Decimal text of v at out; returns its length. Digits are built backwards in [3000, 3020).
  (func $format_dec (param $v i64) (param $out i32) (result i32)
    (local $p i32) (local $n i32)
    (local.set $p (i32.const 3020))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p)
        (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $digits (i64.ne (local.get $v) (i64.const 0))))
    (local.set $n (i32.sub (i32.const 3020) (local.get $p)))
    (memory.copy (local.get $out) (local.get $p) (local.get $n))
    (local.get $n))

  (func (export "increment") (result i32)
    (local $len i32) (local $count i64) (local $n i32)
    (local.set $len (call $state_get (i32.const 1024) (i32.const 5) (i32.const 2048) (i32.const 32)))
    (if (i32.eq (local.get $len) (i32.const -1))
      (then (local.set $count (i64.const 0)))
      (else
        (if (i32.gt_u (local.get $len) (i32.const 18)) (then (return (i32.const 1))))
        (local.set $count (call $parse_dec (i32.const 2048) (local.get $len)))
        (if (i64.lt_s (local.get $count) (i64.const 0)) (then (return (i32.const 1))))))
    (local.set $count (i64.add (local.get $count) (i64.const 1)))
    (local.set $n (call $format_dec (local.get $count) (i32.const 2048)))
    (drop (call $state_set (i32.const 1024) (i32.const 5) (i32.const 2048) (local.get $n)))
    (drop (call $output_write (i32.const 1040) (i32.const 9)))
    (drop (call $output_write (i32.const 2048) (local.get $n)))
    (drop (call $output_write (i32.const 1056) (i32.const 1)))
    (i32.const 0))
)
