#!/bin/sh
# SPDX-License-Identifier: MIT
# Make a throw-away PKI for the TLS tests in directory $1 (ECDSA P-256):
#   ca.pem            the test CA (ca.key)
#   server.pem/.key   signed by it, for localhost, 127.0.0.1 and ::1
#   expired.pem/.key  signed by it, for localhost, valid only in 2020
#   client.pem/.key   signed by it (mutual TLS)
#   other.pem         another CA, which signed none of the above
#   chain.pem         server.pem followed by ca.pem
# Quiet unless something fails (then openssl's messages and exit 1).
set -e
d=$1
[ -n "$d" ] && mkdir -p "$d" && cd "$d"
log=gen.log
: >"$log"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>>"$log"; }
trap 'cat "$log" >&2' EXIT

key ca.key
openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=urt test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out ca.pem 2>>"$log"
key other.key
openssl req -x509 -new -key other.key -sha256 -days 3650 -subj "/CN=urt other CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-out other.pem 2>>"$log"

cat >leaf.ext <<'X'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
X
leaf() { # name cn
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr" 2>>"$log"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
		-sha256 -extfile leaf.ext -out "$1.pem" 2>>"$log"
}
leaf server localhost
leaf client "urt test client"
cat server.pem ca.pem >chain.pem

# expired: openssl ca, which takes explicit start and end dates
key expired.key
openssl req -new -key expired.key -subj "/CN=localhost" -out expired.csr 2>>"$log"
mkdir -p ca.db && : >ca.db/index.txt && echo 1000 >ca.db/serial
cat >ca.cnf <<'X'
[ca]
default_ca = test
[test]
dir = ca.db
database = ca.db/index.txt
serial = ca.db/serial
new_certs_dir = ca.db
default_md = sha256
policy = any
copy_extensions = none
[any]
commonName = supplied
X
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
	-startdate 20200101000000Z -enddate 20200102000000Z -extfile leaf.ext \
	-out expired.pem -notext 2>>"$log" >/dev/null
trap - EXIT
rm -f ./*.csr "$log"
