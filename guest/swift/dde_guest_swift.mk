# Make fragment for Embedded Swift dApps (docs/DAPPS.md). In your Makefile:
#
#   include path/to/guest/swift/dde_guest_swift.mk
#   all: wallet.wasm           # from wallet.swift by the rule below (or $(DDE_SWIFT_BUILD) in your own)
#
# What it runs (the invocation that works with the Swift 6.3 toolchain here):
#   1. swiftc -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -wmo
#        -parse-as-library -Osize -target-cpu mvp -Xcc -mcpu=mvp -Xcc -mbulk-memory -Xcc -msign-ext
#        -Xfrontend -disable-stack-protector -Xcc -fmodule-map-file=<CDDEGuest module map>
#        -module-name NAME -c DDEGuest.swift APP.swift -o NAME.o
#      Embedded Swift needs no runtime library; DDEGuest.swift is compiled into the dApp's own module
#      (one module, whole-module optimisation). -target-cpu mvp and the -Xcc CPU flags keep
#      reference types and multivalue out (as for C); no stack protector: it needs libc's
#      __stack_chk_guard.
#   2. clang (the C flags of guest/c/dde_guest.mk) -c Sources/CDDEGuest/dde_swift_runtime.c:
#      posix_memalign/free (a bump allocator: arrays work) and arc4random_buf (zeros: deterministic)
#   3. clang --target=wasm32 -nostdlib NAME.o runtime.o (the link flags of dde_guest.mk) -o NAME.wasm
# Export actions with both attributes: @_expose(wasm, "send") @_cdecl("dde_action_send") (without
# @_cdecl the export has Swift's calling convention, (i32, i32) -> i32, and is no action).
DDE_GUEST_SWIFT_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
include $(DDE_GUEST_SWIFT_DIR)/../c/dde_guest.mk
DDE_SWIFTC ?= swiftc
DDE_GUEST_SWIFT_SOURCES = $(DDE_GUEST_SWIFT_DIR)/Sources/DDEGuest/DDEGuest.swift
DDE_GUEST_SWIFT_RUNTIME = $(DDE_GUEST_SWIFT_DIR)/Sources/CDDEGuest/dde_swift_runtime.c
DDE_GUEST_SWIFTFLAGS = -target wasm32-unknown-none-wasm -enable-experimental-feature Embedded -wmo \
    -parse-as-library -Osize -target-cpu mvp -Xcc -mcpu=mvp -Xcc -mbulk-memory -Xcc -msign-ext \
    -Xfrontend -disable-stack-protector \
    -Xcc -fmodule-map-file=$(DDE_GUEST_SWIFT_DIR)/Sources/CDDEGuest/module.modulemap

# The commands for one dApp from its Swift sources ($^) to $@ (module name: the file's base name).
define DDE_SWIFT_BUILD
$(DDE_SWIFTC) $(DDE_GUEST_SWIFTFLAGS) $(SWIFTFLAGS_DAPP) -module-name $(basename $(notdir $@)) \
    -c $(DDE_GUEST_SWIFT_SOURCES) $(filter-out $(DDE_GUEST_SWIFT_SOURCES),$(filter %.swift,$^)) -o $@.o
$(DDE_CLANG) $(DDE_GUEST_CFLAGS) -c $(DDE_GUEST_SWIFT_RUNTIME) -o $@.rt.o
$(DDE_CLANG) --target=wasm32 -nostdlib $@.o $@.rt.o $(DDE_GUEST_LDFLAGS) -o $@
rm -f $@.o $@.rt.o
endef

%.wasm: %.swift $(DDE_GUEST_SWIFT_SOURCES) $(DDE_GUEST_SWIFT_RUNTIME) $(DDE_GUEST_DIR)/dde_guest.h
	$(DDE_SWIFT_BUILD)
