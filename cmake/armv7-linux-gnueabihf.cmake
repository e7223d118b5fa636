# CMake toolchain file for C programs that use libdde on 32-bit ARM Linux (Raspberry Pi OS or
# Debian armhf on a Pi 2, 3, 4 or 5: armv7-a, hard float), cross-compiled on Debian x86-64 with
# gcc-arm-linux-gnueabihf and the armhf libraries from apt.
#   cmake -DCMAKE_TOOLCHAIN_FILE=<dde>/cmake/armv7-linux-gnueabihf.cmake -B build-pi32 ...
# libdde itself comes from scripts/build-embedded.sh --arch armv7 (build/armv7/{lib,include}),
# or scripts/install.sh --arch armv7 PREFIX with -DDDE_ARMV7_PREFIX=PREFIX.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# The ABI libdde is built for (scripts/arch.sh; Debian armhf's defaults, spelled out): armv7-a,
# VFPv3-D16 without NEON, floating point in VFP registers, Thumb-2. Code built for armv6 (Pi 1
# and Zero) would need another libdde: docs/BUILDING.md.
set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb")
set(CMAKE_CXX_FLAGS_INIT "-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb")

get_filename_component(DDE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(DDE_ARMV7_PREFIX "${DDE_ROOT}/build/armv7" CACHE PATH "libdde.so and dde.h for armv7")

# The cross libc lives in /usr/arm-linux-gnueabihf; libsodium/libsqlite3 for armhf in Debian's
# multiarch folder. Search only there for libraries and headers, never the host's.
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf "${DDE_ARMV7_PREFIX}")
set(CMAKE_LIBRARY_PATH /usr/lib/arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/arm-linux-gnueabihf")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/arm-linux-gnueabihf")

# Lets try_run and ctest run armv7 test programs on the build machine.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm -L /usr/arm-linux-gnueabihf)
