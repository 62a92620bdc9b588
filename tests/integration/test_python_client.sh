#!/bin/bash
# The Python client is a package (client/python, pyproject.toml) that the
# build lays out complete in build/python, generated message modules
# included; Debian's python3 with python3-protobuf imports it as it is.
# (test_daemon.sh runs jobs through it.)
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PKG=$SBX_BUILD/python
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -c 'import sbx_client as s; print(s.Client.__name__, s.sandboxd_pb2.Request.DESCRIPTOR.full_name, s.make_policy(["/bin/true"]).command)' 2>&1)
check "imports from build/python with Debian's python3-protobuf" "$OUT" "Client sbx.v1.Request /bin/true"
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -m sbx_client --help 2>&1)
check_match "python3 -m sbx_client" "$OUT" 'usage: .*--socket'
OUT=$($PY -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb")); print(p["project"]["name"], p["tool"]["setuptools"]["packages"])' "$PKG/pyproject.toml" 2>&1)
check "pyproject.toml names the package" "$OUT" "sbx-client ['sbx_client']"
# Without the protobuf module (no site-packages: -S), the error says what to install.
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -S -c 'import sbx_client' 2>&1)
check_match "a missing protobuf module is named with its Debian package" "$OUT" 'apt-get install python3-protobuf'
finish
