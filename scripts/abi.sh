# Sourced by the library builds and scripts/install.sh (needs $ROOT): checks that the generated
# copies of abi/dde.abi are current (scripts/gen-abi.py --check; python3), then sets
#   VERSION  the release version, e.g. 0.2.0 (DDE_VERSION_STRING)
#   SONAME   the soname, libdde.so.<DDE_ABI_VERSION_MAJOR> (DDE_SONAME)
# and defines link_chain / install_lib_chain for the file and links every libdde install has:
#   libdde.so.VERSION (the file), libdde.so.N -> it (the soname: what programs load),
#   libdde.so -> libdde.so.N (what -ldde links against).
if ! python3 "$ROOT/scripts/gen-abi.py" --check; then
    echo "abi: FAIL: the generated copies of abi/dde.abi are stale (see above): run scripts/gen-abi.py" >&2
    exit 1
fi
VERSION=$(sed -n 's/^#define DDE_VERSION_STRING "\(.*\)"$/\1/p' "$ROOT/include/dde.h")
SONAME=$(sed -n 's/^#define DDE_SONAME "\(.*\)"$/\1/p' "$ROOT/include/dde.h")
if [ -z "$VERSION" ] || [ -z "$SONAME" ]; then
    echo "abi: FAIL: no DDE_VERSION_STRING or DDE_SONAME in include/dde.h" >&2
    exit 1
fi

# link_chain DIR: the two links beside DIR/libdde.so.$VERSION.
link_chain() {
    ln -sfn "libdde.so.$VERSION" "$1/$SONAME"
    ln -sfn "$SONAME" "$1/libdde.so"
}

# install_lib_chain DIR STRIP BUILT: DIR/libdde.so.$VERSION = BUILT stripped with STRIP, and the
# links; other libdde.so* files in DIR (an older version's) are removed.
install_lib_chain() {
    local dir=$1 strip=$2 built=$3
    rm -f "$dir"/libdde.so "$dir"/libdde.so.*
    "$strip" --strip-all -o "$dir/libdde.so.$VERSION" "$built"
    link_chain "$dir"
}
