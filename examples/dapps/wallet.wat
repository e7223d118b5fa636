;; wallet: balances and transfers (the seed's "send 5 frame to Alice").
;;
;; action "send" (capabilities state.read, state.write)
;;   input : the JCS bytes of {"amount":A,"from":"F","to":"T"} -- exactly these three keys, in
;;           this (JCS) order, A an integer 0..10^18-1, F and T names of 1 to 64 bytes without
;;           '"' or '\'. JCS fixes key order and spacing, so the module reads the payload by
;;           matching the literal pieces around the three values instead of parsing JSON.
;;   state : key "balance/<name>" holds a balance as decimal ASCII text; absent means 0
;;   effect: balance/F -= A, balance/T += A
;;   result: {"from":<new balance of F>,"ok":true,"to":<new balance of T>}
;;           or, when F holds less than A (no writes, still a valid signed answer):
;;           {"error":"insufficient funds","ok":false}
;;   fails (returns 1): a payload of another shape, a stored balance that is not 1 to 18
;;           digits, a receiving balance that would reach 10^18
;;
;; action "mint" (capabilities state.read, state.write): how balances come to exist in a toy
;;   input : the JCS bytes of {"amount":A,"to":"T"} (same rules as send)
;;   effect: balance/T += A
;;   result: {"ok":true,"to":<new balance of T>}
;;   fails (returns 1): as send
(module
  (import "dde" "input_size" (func $input_size (result i32)))
  (import "dde" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "dde" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "dde" "state_set" (func $state_set (param i32 i32 i32 i32) (result i32)))
  (import "dde" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; Memory: [0, 1024) input; 1024.. literals; 2048 key of F; 2304 key of T; 2560 value buffer;
  ;; 2600 formatted number; 3000..3020 digit scratch.
  (data (i32.const 1024) "{\"amount\":")
  (data (i32.const 1040) ",\"from\":\"")
  (data (i32.const 1056) "\",\"to\":\"")
  (data (i32.const 1072) "\"}")
  (data (i32.const 1088) "balance/")
  (data (i32.const 1104) "{\"from\":")
  (data (i32.const 1120) ",\"ok\":true,\"to\":")
  (data (i32.const 1140) "}")
  (data (i32.const 1152) "{\"error\":\"insufficient funds\",\"ok\":false}")

  (global $pos (mut i32) (i32.const 0))
  (global $end (mut i32) (i32.const 0))

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

  ;; Consumes the literal [lit, lit+n) at pos; 1 when it matched.
  (func $expect (param $lit i32) (param $n i32) (result i32)
    (local $i i32)
    (if (i32.gt_u (i32.add (global.get $pos) (local.get $n)) (global.get $end))
      (then (return (i32.const 0))))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne (i32.load8_u (i32.add (global.get $pos) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $lit) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (global.set $pos (i32.add (global.get $pos) (local.get $n)))
    (i32.const 1))

  ;; Consumes bytes up to the next '"'; returns how many, or -1 at the end or at a '\'.
  (func $name (result i32)
    (local $start i32) (local $c i32)
    (local.set $start (global.get $pos))
    (block $done
      (loop $bytes
        (if (i32.ge_u (global.get $pos) (global.get $end)) (then (return (i32.const -1))))
        (local.set $c (i32.load8_u (global.get $pos)))
        (br_if $done (i32.eq (local.get $c) (i32.const 34)))
        (if (i32.eq (local.get $c) (i32.const 92)) (then (return (i32.const -1))))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $bytes)))
    (i32.sub (global.get $pos) (local.get $start)))

  ;; Consumes a run of digits; returns its value or -1.
  (func $number (result i64)
    (local $start i32) (local $c i32)
    (local.set $start (global.get $pos))
    (block $done
      (loop $bytes
        (br_if $done (i32.ge_u (global.get $pos) (global.get $end)))
        (local.set $c (i32.load8_u (global.get $pos)))
        (br_if $done (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57))))
        (global.set $pos (i32.add (global.get $pos) (i32.const 1)))
        (br $bytes)))
    (call $parse_dec (local.get $start) (i32.sub (global.get $pos) (local.get $start))))

  ;; "balance/" + [name, name+n) at out; returns the key length.
  (func $key (param $name i32) (param $n i32) (param $out i32) (result i32)
    (memory.copy (local.get $out) (i32.const 1088) (i32.const 8))
    (memory.copy (i32.add (local.get $out) (i32.const 8)) (local.get $name) (local.get $n))
    (i32.add (local.get $n) (i32.const 8)))

  ;; The balance under a key: 0 when absent, -1 when malformed.
  (func $balance (param $key i32) (param $n i32) (result i64)
    (local $len i32)
    (local.set $len (call $state_get (local.get $key) (local.get $n) (i32.const 2560) (i32.const 32)))
    (if (i32.eq (local.get $len) (i32.const -1)) (then (return (i64.const 0))))
    (if (i32.gt_u (local.get $len) (i32.const 18)) (then (return (i64.const -1))))
    (call $parse_dec (i32.const 2560) (local.get $len)))

  (func $set_balance (param $key i32) (param $n i32) (param $v i64)
    (drop (call $state_set (local.get $key) (local.get $n) (i32.const 2600)
                           (call $format_dec (local.get $v) (i32.const 2600)))))

  (func $write_number (param $v i64)
    (drop (call $output_write (i32.const 2600) (call $format_dec (local.get $v) (i32.const 2600)))))

  (func (export "send") (result i32)
    (local $size i32) (local $amount i64) (local $from i32) (local $fromLen i32)
    (local $to i32) (local $toLen i32) (local $fromKey i32) (local $toKey i32)
    (local $fromBalance i64) (local $toBalance i64)
    (local.set $size (call $input_size))
    (if (i32.gt_u (local.get $size) (i32.const 1024)) (then (return (i32.const 1))))
    (drop (call $input_read (i32.const 0) (local.get $size)))
    (global.set $pos (i32.const 0))
    (global.set $end (local.get $size))

    (if (i32.eqz (call $expect (i32.const 1024) (i32.const 10))) (then (return (i32.const 1))))
    (local.set $amount (call $number))
    (if (i64.lt_s (local.get $amount) (i64.const 0)) (then (return (i32.const 1))))
    (if (i32.eqz (call $expect (i32.const 1040) (i32.const 9))) (then (return (i32.const 1))))
    (local.set $from (global.get $pos))
    (local.set $fromLen (call $name))
    (if (i32.or (i32.lt_s (local.get $fromLen) (i32.const 1)) (i32.gt_s (local.get $fromLen) (i32.const 64)))
      (then (return (i32.const 1))))
    (if (i32.eqz (call $expect (i32.const 1056) (i32.const 8))) (then (return (i32.const 1))))
    (local.set $to (global.get $pos))
    (local.set $toLen (call $name))
    (if (i32.or (i32.lt_s (local.get $toLen) (i32.const 1)) (i32.gt_s (local.get $toLen) (i32.const 64)))
      (then (return (i32.const 1))))
    (if (i32.eqz (call $expect (i32.const 1072) (i32.const 2))) (then (return (i32.const 1))))
    (if (i32.ne (global.get $pos) (global.get $end)) (then (return (i32.const 1))))

    (local.set $fromKey (call $key (local.get $from) (local.get $fromLen) (i32.const 2048)))
    (local.set $toKey (call $key (local.get $to) (local.get $toLen) (i32.const 2304)))

    (local.set $fromBalance (call $balance (i32.const 2048) (local.get $fromKey)))
    (if (i64.lt_s (local.get $fromBalance) (i64.const 0)) (then (return (i32.const 1))))
    (if (i64.lt_u (local.get $fromBalance) (local.get $amount))
      (then
        (drop (call $output_write (i32.const 1152) (i32.const 41)))
        (return (i32.const 0))))
    (call $set_balance (i32.const 2048) (local.get $fromKey)
                       (i64.sub (local.get $fromBalance) (local.get $amount)))
    ;; Read T after writing F, so a send to oneself nets out to no change.
    (local.set $toBalance (call $balance (i32.const 2304) (local.get $toKey)))
    (if (i64.lt_s (local.get $toBalance) (i64.const 0)) (then (return (i32.const 1))))
    (local.set $toBalance (i64.add (local.get $toBalance) (local.get $amount)))
    (if (i64.ge_u (local.get $toBalance) (i64.const 1000000000000000000)) (then (return (i32.const 1))))
    (call $set_balance (i32.const 2304) (local.get $toKey) (local.get $toBalance))

    (drop (call $output_write (i32.const 1104) (i32.const 8)))
    (call $write_number (call $balance (i32.const 2048) (local.get $fromKey)))
    (drop (call $output_write (i32.const 1120) (i32.const 16)))
    (call $write_number (local.get $toBalance))
    (drop (call $output_write (i32.const 1140) (i32.const 1)))
    (i32.const 0))

  (func (export "mint") (result i32)
    (local $size i32) (local $amount i64) (local $to i32) (local $toLen i32) (local $toKey i32)
    (local $toBalance i64)
    (local.set $size (call $input_size))
    (if (i32.gt_u (local.get $size) (i32.const 1024)) (then (return (i32.const 1))))
    (drop (call $input_read (i32.const 0) (local.get $size)))
    (global.set $pos (i32.const 0))
    (global.set $end (local.get $size))
    (if (i32.eqz (call $expect (i32.const 1024) (i32.const 10))) (then (return (i32.const 1))))
    (local.set $amount (call $number))
    (if (i64.lt_s (local.get $amount) (i64.const 0)) (then (return (i32.const 1))))
    ;; `,"to":"` is the literal at 1056 without its leading quote.
    (if (i32.eqz (call $expect (i32.const 1057) (i32.const 7))) (then (return (i32.const 1))))
    (local.set $to (global.get $pos))
    (local.set $toLen (call $name))
    (if (i32.or (i32.lt_s (local.get $toLen) (i32.const 1)) (i32.gt_s (local.get $toLen) (i32.const 64)))
      (then (return (i32.const 1))))
    (if (i32.eqz (call $expect (i32.const 1072) (i32.const 2))) (then (return (i32.const 1))))
    (if (i32.ne (global.get $pos) (global.get $end)) (then (return (i32.const 1))))
    (local.set $toKey (call $key (local.get $to) (local.get $toLen) (i32.const 2304)))
    (local.set $toBalance (call $balance (i32.const 2304) (local.get $toKey)))
    (if (i64.lt_s (local.get $toBalance) (i64.const 0)) (then (return (i32.const 1))))
    (local.set $toBalance (i64.add (local.get $toBalance) (local.get $amount)))
    (if (i64.ge_u (local.get $toBalance) (i64.const 1000000000000000000)) (then (return (i32.const 1))))
    (call $set_balance (i32.const 2304) (local.get $toKey) (local.get $toBalance))
    ;; {"ok":true,"to":N}: "{" from the literal at 1104, then the one at 1120 without its comma.
    (drop (call $output_write (i32.const 1104) (i32.const 1)))
    (drop (call $output_write (i32.const 1121) (i32.const 15)))
    (call $write_number (local.get $toBalance))
    (drop (call $output_write (i32.const 1140) (i32.const 1)))
    (i32.const 0))
)
