;; hashchain: compute worth delegating. Iterated SHA-256 written in WebAssembly integer code
;; (the crypto.hash host function is deliberately not used: the point is guest work).
;;
;; action "run" (no capabilities)
;;   input : the JCS bytes of the payload: an integer N (1 to 9 digits), e.g. 10000; any other
;;           payload (null, {}, ...) means the default N = 4000
;;   result: {"hash":"<64 hex>","n":N} where hash = SHA-256^N(32 zero bytes), i.e. SHA-256
;;           applied N times starting from 32 zero bytes
;;
;; Each step hashes a 32-byte digest, which is a single padded block whose first eight message
;; words are the previous digest's state words, so no byte swapping is needed between steps.
(module
  (import "dde" "input_size" (func $input_size (result i32)))
  (import "dde" "input_read" (func $input_read (param i32 i32) (result i32)))
  (import "dde" "output_write" (func $output_write (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; Memory (words little-endian, as i32.load reads them): input [0, 16); K [1024, 1280);
  ;; IV [1344, 1376); W [1536, 1792); H [1792, 1824); output text from 2048; digits 3000..3020.
  (data (i32.const 1024) "\98\2f\8a\42\91\44\37\71\cf\fb\c0\b5\a5\db\b5\e9\5b\c2\56\39\f1\11\f1\59\a4\82\3f\92\d5\5e\1c\ab")
  (data (i32.const 1056) "\98\aa\07\d8\01\5b\83\12\be\85\31\24\c3\7d\0c\55\74\5d\be\72\fe\b1\de\80\a7\06\dc\9b\74\f1\9b\c1")
  (data (i32.const 1088) "\c1\69\9b\e4\86\47\be\ef\c6\9d\c1\0f\cc\a1\0c\24\6f\2c\e9\2d\aa\84\74\4a\dc\a9\b0\5c\da\88\f9\76")
  (data (i32.const 1120) "\52\51\3e\98\6d\c6\31\a8\c8\27\03\b0\c7\7f\59\bf\f3\0b\e0\c6\47\91\a7\d5\51\63\ca\06\67\29\29\14")
  (data (i32.const 1152) "\85\0a\b7\27\38\21\1b\2e\fc\6d\2c\4d\13\0d\38\53\54\73\0a\65\bb\0a\6a\76\2e\c9\c2\81\85\2c\72\92")
  (data (i32.const 1184) "\a1\e8\bf\a2\4b\66\1a\a8\70\8b\4b\c2\a3\51\6c\c7\19\e8\92\d1\24\06\99\d6\85\35\0e\f4\70\a0\6a\10")
  (data (i32.const 1216) "\16\c1\a4\19\08\6c\37\1e\4c\77\48\27\b5\bc\b0\34\b3\0c\1c\39\4a\aa\d8\4e\4f\ca\9c\5b\f3\6f\2e\68")
  (data (i32.const 1248) "\ee\82\8f\74\6f\63\a5\78\14\78\c8\84\08\02\c7\8c\fa\ff\be\90\eb\6c\50\a4\f7\a3\f9\be\f2\78\71\c6")
  (data (i32.const 1344) "\67\e6\09\6a\85\ae\67\bb\72\f3\6e\3c\3a\f5\4f\a5\7f\52\0e\51\8c\68\05\9b\ab\d9\83\1f\19\cd\e0\5b")
  (data (i32.const 2048) "{\"hash\":\"")
  (data (i32.const 2128) "\",\"n\":")
  (data (i32.const 2144) "}")

  ;; One compression of the block in W[0..16) into H.
  (func $compress
    (local $i i32) (local $w15 i32) (local $w2 i32) (local $p i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local $t1 i32) (local $t2 i32)
    ;; Message schedule W[16..64).
    (local.set $i (i32.const 16))
    (loop $schedule
      (local.set $p (i32.add (i32.const 1536) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $w15 (i32.load (i32.sub (local.get $p) (i32.const 60))))
      (local.set $w2 (i32.load (i32.sub (local.get $p) (i32.const 8))))
      (i32.store (local.get $p)
        (i32.add
          (i32.add (i32.load (i32.sub (local.get $p) (i32.const 64)))
                   (i32.xor (i32.xor (i32.rotr (local.get $w15) (i32.const 7))
                                     (i32.rotr (local.get $w15) (i32.const 18)))
                            (i32.shr_u (local.get $w15) (i32.const 3))))
          (i32.add (i32.load (i32.sub (local.get $p) (i32.const 28)))
                   (i32.xor (i32.xor (i32.rotr (local.get $w2) (i32.const 17))
                                     (i32.rotr (local.get $w2) (i32.const 19)))
                            (i32.shr_u (local.get $w2) (i32.const 10))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $schedule (i32.lt_u (local.get $i) (i32.const 64))))
    (local.set $a (i32.load (i32.const 1792)))
    (local.set $b (i32.load (i32.const 1796)))
    (local.set $c (i32.load (i32.const 1800)))
    (local.set $d (i32.load (i32.const 1804)))
    (local.set $e (i32.load (i32.const 1808)))
    (local.set $f (i32.load (i32.const 1812)))
    (local.set $g (i32.load (i32.const 1816)))
    (local.set $h (i32.load (i32.const 1820)))
    (local.set $i (i32.const 0))
    (loop $rounds
      (local.set $p (i32.shl (local.get $i) (i32.const 2)))
      (local.set $t1
        (i32.add
          (i32.add (local.get $h)
                   (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6))
                                     (i32.rotr (local.get $e) (i32.const 11)))
                            (i32.rotr (local.get $e) (i32.const 25))))
          (i32.add
            (i32.xor (i32.and (local.get $e) (local.get $f))
                     (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g)))
            (i32.add (i32.load (i32.add (i32.const 1024) (local.get $p)))
                     (i32.load (i32.add (i32.const 1536) (local.get $p)))))))
      (local.set $t2
        (i32.add
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2))
                            (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b))
                            (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $i) (i32.const 64))))
    (i32.store (i32.const 1792) (i32.add (i32.load (i32.const 1792)) (local.get $a)))
    (i32.store (i32.const 1796) (i32.add (i32.load (i32.const 1796)) (local.get $b)))
    (i32.store (i32.const 1800) (i32.add (i32.load (i32.const 1800)) (local.get $c)))
    (i32.store (i32.const 1804) (i32.add (i32.load (i32.const 1804)) (local.get $d)))
    (i32.store (i32.const 1808) (i32.add (i32.load (i32.const 1808)) (local.get $e)))
    (i32.store (i32.const 1812) (i32.add (i32.load (i32.const 1812)) (local.get $f)))
    (i32.store (i32.const 1816) (i32.add (i32.load (i32.const 1816)) (local.get $g)))
    (i32.store (i32.const 1820) (i32.add (i32.load (i32.const 1820)) (local.get $h))))

  ;; N from the input: 1 to 9 digits, else the default 4000.
  (func $count (result i32)
    (local $n i32) (local $i i32) (local $c i32) (local $v i32)
    (local.set $n (call $input_size))
    (if (i32.or (i32.eqz (local.get $n)) (i32.gt_u (local.get $n) (i32.const 9)))
      (then (return (i32.const 4000))))
    (drop (call $input_read (i32.const 0) (local.get $n)))
    (loop $digits
      (local.set $c (i32.load8_u (local.get $i)))
      (if (i32.or (i32.lt_u (local.get $c) (i32.const 48)) (i32.gt_u (local.get $c) (i32.const 57)))
        (then (return (i32.const 4000))))
      (local.set $v (i32.add (i32.mul (local.get $v) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $digits (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $v))

  ;; Lowercase hex of the word x (most significant nibble first) at out.
  (func $hex_word (param $x i32) (param $out i32)
    (local $i i32) (local $d i32)
    (loop $nibbles
      (local.set $d (i32.and (i32.shr_u (local.get $x) (i32.sub (i32.const 28) (i32.shl (local.get $i) (i32.const 2))))
                             (i32.const 15)))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (i32.add (local.get $d) (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $d) (i32.const 10)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $nibbles (i32.lt_u (local.get $i) (i32.const 8)))))

  ;; Decimal text of v at out; returns its length.
  (func $format_dec (param $v i32) (param $out i32) (result i32)
    (local $p i32) (local $n i32)
    (local.set $p (i32.const 3020))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (local.set $v (i32.div_u (local.get $v) (i32.const 10)))
      (br_if $digits (i32.ne (local.get $v) (i32.const 0))))
    (local.set $n (i32.sub (i32.const 3020) (local.get $p)))
    (memory.copy (local.get $out) (local.get $p) (local.get $n))
    (local.get $n))

  (func (export "run") (result i32)
    (local $n i32) (local $step i32) (local $k i32)
    (local.set $n (call $count))
    ;; The digest starts as 32 zero bytes (H is zero-initialised memory).
    (block $done
      (loop $steps
        (br_if $done (i32.ge_u (local.get $step) (local.get $n)))
        ;; Block: W[0..8) = previous digest words, then padding for a 256-bit message.
        (memory.copy (i32.const 1536) (i32.const 1792) (i32.const 32))
        (i32.store (i32.const 1568) (i32.const 0x80000000))
        (memory.fill (i32.const 1572) (i32.const 0) (i32.const 24))
        (i32.store (i32.const 1596) (i32.const 256))
        (memory.copy (i32.const 1792) (i32.const 1344) (i32.const 32))
        (call $compress)
        (local.set $step (i32.add (local.get $step) (i32.const 1)))
        (br $steps)))
    (local.set $k (i32.const 0))
    (loop $words
      (call $hex_word (i32.load (i32.add (i32.const 1792) (i32.shl (local.get $k) (i32.const 2))))
                      (i32.add (i32.const 2057) (i32.shl (local.get $k) (i32.const 3))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $words (i32.lt_u (local.get $k) (i32.const 8))))
    ;; 2048: {"hash":" (9 bytes) + 64 hex digits, then ","n": and the count, then }.
    (drop (call $output_write (i32.const 2048) (i32.const 73)))
    (drop (call $output_write (i32.const 2128) (i32.const 6)))
    (drop (call $output_write (i32.const 2200) (call $format_dec (local.get $n) (i32.const 2200))))
    (drop (call $output_write (i32.const 2144) (i32.const 1)))
    (i32.const 0))
)
