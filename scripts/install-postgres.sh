#!/usr/bin/env bash
# Installs the PostgreSQL server from the Debian packages, for the tests of the optional
# PostgreSQL publication (tests/postgres_server.py starts a private server from it).
# Nothing to do when initdb is already there.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "PostgreSQL is not installed and this is not root: run 'sudo apt-get install postgresql'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
