# CMake fragment for C dApps (docs/DAPPS.md), the same flags as dde_guest.mk (see there why):
#
#   include(path/to/guest/c/dde_guest.cmake)
#   dde_add_dapp(wallet wallet.c)        # builds wallet.wasm in the binary dir (target `wallet`)
#
# The project's own compiler stays the host's: the dApp is built by a custom command with the
# clang that targets wasm32 (the Swift toolchain's; set DDE_CLANG to choose another).
set(DDE_GUEST_DIR "${CMAKE_CURRENT_LIST_DIR}")
if(NOT DDE_CLANG)
    find_program(DDE_CLANG clang HINTS /opt/swift/usr/bin REQUIRED)
endif()
set(DDE_GUEST_CFLAGS --target=wasm32 -mcpu=mvp -mbulk-memory -msign-ext -Os -nostdlib -ffreestanding
    -Wall -Wextra "-I${DDE_GUEST_DIR}")
set(DDE_GUEST_LDFLAGS -Wl,--no-entry -Wl,--export-memory -Wl,--global-base=4096)

# dde_add_dapp(NAME SOURCE...): NAME.wasm from the C sources.
function(dde_add_dapp name)
    set(sources)
    foreach(source IN LISTS ARGN)
        get_filename_component(path "${source}" ABSOLUTE)
        list(APPEND sources "${path}")
    endforeach()
    set(output "${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm")
    add_custom_command(
        OUTPUT "${output}"
        COMMAND "${DDE_CLANG}" ${DDE_GUEST_CFLAGS} ${sources} ${DDE_GUEST_LDFLAGS} -o "${output}"
        DEPENDS ${sources} "${DDE_GUEST_DIR}/dde_guest.h"
        COMMENT "dApp ${name}.wasm"
        VERBATIM)
    add_custom_target(${name} ALL DEPENDS "${output}")
endfunction()
