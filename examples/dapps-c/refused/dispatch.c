/*
 * Integer-only, but with a call through a function pointer (call_indirect): built for clang's
 * default wasm32 CPU (reference types on) the call carries a table index the executor refuses;
 * built with the SDK's flags (DDE_GUEST_CFLAGS) it loads and runs. scripts/test-guest.sh builds
 * it both ways. It declares the host functions itself, as an author without the SDK would (the
 * SDK header refuses to build for the default CPU).
 *   action "main": payload a digit d; result {"r":f(d)} with f chosen by d's parity
 */
#include <stdint.h>

__attribute__((import_module("dde"), import_name("input_size"))) int32_t input_size(void);
__attribute__((import_module("dde"), import_name("input_read"))) int32_t input_read(void *ptr, uint32_t len);
__attribute__((import_module("dde"), import_name("output_write"))) int32_t output_write(const void *ptr, uint32_t len);

static int32_t twice(int32_t x) { return 2 * x; }
static int32_t square(int32_t x) { return x * x; }
static int32_t (*const ops[2])(int32_t) = {twice, square};

static volatile uint8_t buf[16];

__attribute__((export_name("main"))) int32_t main_action(void) {
    int32_t n = input_size();
    if (n != 1) return 1;
    input_read((void *)buf, 1);
    int32_t d = buf[0] - '0';
    if (d < 0 || d > 9) return 1;
    int32_t r = ops[d & 1](d);
    uint8_t out[8] = {'{', '"', 'r', '"', ':'};
    uint32_t len = 5;
    if (r >= 10) out[len++] = (uint8_t)('0' + r / 10);
    out[len++] = (uint8_t)('0' + r % 10);
    out[len++] = '}';
    output_write(out, len);
    return 0;
}
