# Make fragment for C dApps (docs/DAPPS.md). In your Makefile:
#
#   include path/to/guest/c/dde_guest.mk
#   all: wallet.wasm            # wallet.wasm is built from wallet.c by the rule below
#
# Every flag is here for a reason the executor gives (docs/EXECUTION.md section 2):
#   --target=wasm32            32-bit WebAssembly, one memory (memory64 is refused)
#   -mcpu=mvp                  WebAssembly 1.0 only: clang's default wasm32 CPU turns on reference
#                              types (every call_indirect then carries a table index the executor
#                              refuses) and multivalue
#   -mbulk-memory -msign-ext   the two later features the executor runs: memcpy/memset become
#                              memory.copy/memory.fill (no libc needed), i32.extend8_s etc.
#   -nostdlib -ffreestanding   no libc (it would bring imports from "env" and floats); the header
#                              has what a dApp needs
#   --no-entry                 no _start and no start function (refused): the actions are the exports
#   --export-memory            the host reads and writes the guest memory through "memory"
#   --global-base=4096         the linker puts data and stack above 4096, so [0, 4096) is free for
#                              fixed buffers (dde_at); any value works, it only moves the layout
#   -Os                        optimisation changes fuel, never results, writes or the trace of a
#                              correct program (the trace hashes pointers: the layout must not move)
# No float: the header poisons float and double; a float anywhere is refused at load.
DDE_GUEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# The Swift toolchain's clang targets wasm32 and finds its wasm-ld (Debian's clang needs lld too).
DDE_CLANG ?= clang
DDE_GUEST_CFLAGS = --target=wasm32 -mcpu=mvp -mbulk-memory -msign-ext -Os -nostdlib -ffreestanding \
                   -Wall -Wextra -I$(DDE_GUEST_DIR)
DDE_GUEST_LDFLAGS = -Wl,--no-entry -Wl,--export-memory -Wl,--global-base=4096

# The command for one dApp from its C sources ($^ or $<) to $@; CFLAGS_DAPP adds your own flags.
DDE_GUEST_BUILD = $(DDE_CLANG) $(DDE_GUEST_CFLAGS) $(CFLAGS_DAPP) $(filter %.c,$^) $(DDE_GUEST_LDFLAGS) -o $@

%.wasm: %.c $(DDE_GUEST_DIR)/dde_guest.h
	$(DDE_GUEST_BUILD)
