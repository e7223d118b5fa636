# CMake toolchain file for C programs that use libdde on aarch64 Linux (Raspberry Pi, 64-bit OS),
# cross-compiled on Debian x86-64 with gcc-aarch64-linux-gnu and the arm64 libraries from apt.
#   cmake -DCMAKE_TOOLCHAIN_FILE=<dde>/cmake/aarch64-linux-gnu.cmake -B build-pi ...
# libdde itself comes from scripts/build-embedded.sh --arch aarch64 (build/aarch64/{lib,include}),
# or scripts/install.sh --arch aarch64 PREFIX with -DDDE_AARCH64_PREFIX=PREFIX.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

get_filename_component(DDE_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(DDE_AARCH64_PREFIX "${DDE_ROOT}/build/aarch64" CACHE PATH "libdde.so and dde.h for aarch64")

# The cross libc lives in /usr/aarch64-linux-gnu; libsodium/libsqlite3 for arm64 in Debian's
# multiarch folder. Search only there for libraries and headers, never the host's.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu "${DDE_AARCH64_PREFIX}")
set(CMAKE_LIBRARY_PATH /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,/usr/lib/aarch64-linux-gnu")

# Lets try_run and ctest run aarch64 test programs on the build machine.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
