#!/usr/bin/env bash
# A test certificate authority for the broker recipe (examples/broker/README.md): a CA, the
# broker's certificate, and one certificate per device whose subject CN is the device's dde public
# key in hex, so that Mosquitto's `use_identity_as_username` makes that key the device's user name
# and the ACL's %u patterns confine it to its own topics.
#
#   examples/broker/make-test-ca.sh DIR [--bad] [NAME=PUBLIC_KEY_HEX ...]
#
# Writes into DIR (created; private keys mode 0600):
#   ca.crt ca.key                 the CA (give ca.crt to the broker and to every client)
#   server.crt server.key         the broker, for 127.0.0.1 and localhost (subjectAltName)
#   NAME.crt NAME.key             a device: CN = PUBLIC_KEY_HEX (64 lowercase hex), signed by the CA
# and with --bad, for the tests of what must fail:
#   server-wrongname.crt          the broker's key, certified for broker.invalid only
#   server-expired.crt            the broker's key, expired (valid for one day in 2020)
#   other-ca.crt other-ca.key     a second CA that nobody trusts
#   NAME-expired.crt              each device's key, expired
#   NAME-untrusted.crt            each device's key, signed by the untrusted CA
# Keys are ECDSA P-256 (quick to make, understood by every TLS stack); the device's TLS key is not
# its dde key: the certificate binds the two through the CN, and the CA vouches for that binding.
# These are TEST credentials: for a deployment keep the CA key offline and make one device
# certificate at a time with the same `openssl` commands (README.md, "Making real certificates").
set -euo pipefail
usage() { echo "usage: make-test-ca.sh DIR [--bad] [NAME=PUBLIC_KEY_HEX ...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DIR=$1; shift
bad=0
devices=()
for arg in "$@"; do
    case $arg in
        --bad) bad=1 ;;
        *=*)
            name=${arg%%=*} key=${arg#*=}
            [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "make-test-ca: device name '$name': letters, digits, . _ - only" >&2; exit 2; }
            [[ $key =~ ^[0-9a-f]{64}$ ]] || { echo "make-test-ca: $name: the public key must be 64 lowercase hex characters (dde keygen prints it)" >&2; exit 2; }
            devices+=("$name=$key") ;;
        *) usage ;;
    esac
done
command -v openssl >/dev/null || { echo "make-test-ca: openssl missing: apt install openssl" >&2; exit 1; }
mkdir -p "$DIR"
cd "$DIR"
umask 077   # private keys; certificates are made readable below

# `openssl ca` is the one OpenSSL 3.0 command that signs with a chosen validity window (-startdate,
# -enddate): needed for the expired certificates. Its database lives in a scratch folder.
DB=$(mktemp -d)
trap 'rm -rf "$DB"' EXIT
ca_conf() { # CA_NAME
    cat <<EOF
[ca]
default_ca = this
[this]
database = $DB/$1.index
new_certs_dir = $DB
serial = $DB/$1.serial
certificate = $1.crt
private_key = $1.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = copy
[anything]
commonName = supplied
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
EOF
}

key() { [ -f "$1" ] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

make_ca() { # NAME SUBJECT
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -sha256 -out "$1.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    : > "$DB/$1.index"
    openssl rand -hex 16 > "$DB/$1.serial"
    ca_conf "$1" > "$DB/$1.conf"
}

# sign CA KEY CN EXTENSIONS OUT [SAN] [START END]: a certificate for KEY's public key.
sign() {
    local ca=$1 k=$2 cn=$3 ext=$4 out=$5 san=${6:-} start=${7:-} end=${8:-}
    local csr=$DB/req.csr
    if [ -n "$san" ]; then
        openssl req -new -key "$k" -subj "/CN=$cn" -addext "subjectAltName=$san" -out "$csr"
    else
        openssl req -new -key "$k" -subj "/CN=$cn" -out "$csr"
    fi
    local window=(-days 825)
    [ -n "$start" ] && window=(-startdate "$start" -enddate "$end")
    openssl ca -batch -notext -config "$DB/$ca.conf" -extensions "$ext" "${window[@]}" \
        -in "$csr" -out "$out" 2>"$DB/ca.log" || { cat "$DB/ca.log" >&2; exit 1; }
}

make_ca ca "/CN=dde test CA"
key server.key
sign ca server.key "dde test broker" server server.crt "IP:127.0.0.1,DNS:localhost"
for d in "${devices[@]}"; do
    name=${d%%=*} pk=${d#*=}
    key "$name.key"
    sign ca "$name.key" "$pk" client "$name.crt"
done
if [ "$bad" = 1 ]; then
    sign ca server.key "broker.invalid" server server-wrongname.crt "DNS:broker.invalid"
    sign ca server.key "dde test broker" server server-expired.crt "IP:127.0.0.1,DNS:localhost" 20200101000000Z 20200102000000Z
    make_ca other-ca "/CN=untrusted test CA"
    for d in "${devices[@]}"; do
        name=${d%%=*} pk=${d#*=}
        sign ca "$name.key" "$pk" client "$name-expired.crt" "" 20200101000000Z 20200102000000Z
        sign other-ca "$name.key" "$pk" client "$name-untrusted.crt"
    done
fi
chmod 0644 ./*.crt
echo "make-test-ca: wrote CA, broker and ${#devices[@]} device certificate(s) into $(pwd)"
