# Sourced by the Embedded Swift build and the scripts that cross-compile against its output or run
# it under qemu: what differs between the architectures, in one place (docs/BUILDING.md says why
# each flag).
#   CROSS_ARCHES       the Raspberry Pi architectures (cross-compiled, run under qemu here)
#   EMBEDDED_ARCHES    every architecture scripts/build-embedded.sh builds: those and x86_64 (the
#                      host's, an Embedded Swift alternative to build/host's regular runtime)
#   cross_arch ARCH    sets, for x86_64, aarch64 or armv7 (fails on anything else):
#     GNU              the GNU triple: tool prefix (GNU-gcc, GNU-strip) and Debian's library folder
#     DEB_ARCH         Debian's name for the architecture (libsodium-dev:DEB_ARCH)
#     CROSS_LIBDIR     Debian's multiarch library folder (/usr/lib/GNU)
#     CROSS_SYSROOT    the cross libc (/usr/GNU): headers, and qemu's -L for programs without threads
#     CROSS_LOADER     Debian's own dynamic loader of that architecture (from libc6:DEB_ARCH)
#     QEMU             the qemu-user binary (empty for x86_64: run natively)
#     RUN_PREFIX       (array) what runs a program of that architecture here: QEMU -L CROSS_SYSROOT
#     SWIFT_INCLUDE_FLAGS (array) the C headers swiftc imports: the target's libc first
#     ELF_MACHINE      what `readelf -h` prints as Machine
#     CMAKE_TOOLCHAIN  the CMake toolchain file for C programs of that architecture (cmake/)
#     SWIFT_TARGET     the embedded stdlib's target triple
#     SWIFT_ARCH_FLAGS, C_ARCH_FLAGS, LINK_ARCH_LIBS   (arrays) flags of the ABI
CROSS_ARCHES="aarch64 armv7"
EMBEDDED_ARCHES="x86_64 aarch64 armv7"

cross_arch() {
    case $1 in
        x86_64)
            GNU=x86_64-linux-gnu
            DEB_ARCH=amd64
            CROSS_LOADER=/lib64/ld-linux-x86-64.so.2
            QEMU=
            ELF_MACHINE=X86-64
            CMAKE_TOOLCHAIN=
            SWIFT_TARGET=x86_64-unknown-linux-gnu
            SWIFT_ARCH_FLAGS=(-Xllvm -enable-linkonceodr-outlining -Xllvm -machine-outliner-reruns=2)
            C_ARCH_FLAGS=()
            # Baseline x86-64 has no instruction for floor/round of a double (ROUNDSD is SSE4.1).
            LINK_ARCH_LIBS=(-lm)
            ;;
        aarch64)
            GNU=aarch64-linux-gnu
            DEB_ARCH=arm64
            CROSS_LOADER=/lib/ld-linux-aarch64.so.1
            QEMU=qemu-aarch64
            ELF_MACHINE=AArch64
            CMAKE_TOOLCHAIN=cmake/aarch64-linux-gnu.cmake
            SWIFT_TARGET=aarch64-none-none-elf
            # The machine outliner (on by default for AArch64 at -Osize) also over the specialised
            # generics (linkonce_odr), run twice; prologues and epilogues through shared helpers
            # (AArch64 only): 8.7 KB less code.
            SWIFT_ARCH_FLAGS=(-Xllvm -enable-linkonceodr-outlining -Xllvm -machine-outliner-reruns=2
                              -Xllvm -homogeneous-prolog-epilog)
            C_ARCH_FLAGS=()
            LINK_ARCH_LIBS=()
            ;;
        armv7)
            GNU=arm-linux-gnueabihf
            DEB_ARCH=armhf
            CROSS_LOADER=/lib/ld-linux-armhf.so.3
            QEMU=qemu-arm
            ELF_MACHINE=ARM
            CMAKE_TOOLCHAIN=cmake/armv7-linux-gnueabihf.cmake
            SWIFT_TARGET=armv7-none-none-eabi
            # Debian armhf's baseline, spelled out for clang (the Swift code) and gcc (the shim)
            # alike: armv7-a, VFPv3 with 16 double registers (no NEON), floating-point arguments
            # in VFP registers (-mfloat-abi=hard, the armhf ABI; the embedded target's default is
            # soft), and Thumb-2 (smaller than ARM code).
            # The machine outliner, which LLVM does not run for ARM by default: 21 KB less. Only
            # its single pass over ordinary functions: with -enable-linkonceodr-outlining or
            # -machine-outliner-reruns=2 (as on aarch64) the armv7 library crashed under qemu-arm
            # (SIGILL, SIGSEGV in dde_task_create).
            SWIFT_ARCH_FLAGS=(-Xcc -march=armv7-a -Xcc -mfpu=vfpv3-d16 -Xcc -mfloat-abi=hard -Xcc -mthumb
                              -Xllvm -enable-machine-outliner=always)
            # _FILE_OFFSET_BITS=64: 64-bit off_t in the shim's open/read, so a file over 2 GiB is
            # read up to its limit and refused with EFBIG, as on 64-bit, not failed with EOVERFLOW.
            # _TIME_BITS=64: 64-bit time_t, so the clock (cdde_now_ms) and the MQTT waits work
            # after 2038-01-19 (glibc 2.34, which armv7 needs anyway for dlopen: BUILDING.md).
            C_ARCH_FLAGS=(-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64)
            # armv7 has no instruction for floor/ceil/round/trunc of a double (VRINT is ARMv8), so
            # LLVM calls libm's, which give the exact results the instructions give elsewhere.
            LINK_ARCH_LIBS=(-lm)
            ;;
        *)
            echo "arch: unknown architecture '$1' (known: $EMBEDDED_ARCHES)" >&2
            return 2
            ;;
    esac
    CROSS_LIBDIR=/usr/lib/$GNU
    CROSS_SYSROOT=/usr/$GNU
    if [ -n "$QEMU" ]; then
        RUN_PREFIX=("$QEMU" -L "$CROSS_SYSROOT")
        # The cross libc's headers first; /usr/include after them only for the
        # architecture-independent sodium.h and sqlite3.h.
        SWIFT_INCLUDE_FLAGS=(-Xcc -I"$CROSS_SYSROOT/include" -Xcc -I/usr/include)
    else
        RUN_PREFIX=()
        SWIFT_INCLUDE_FLAGS=()   # the host's own /usr/include, as clang finds it
    fi
}
