"""A private PostgreSQL server for the tests of the PostgreSQL publication: installed from
the Debian packages by scripts/install-postgres.sh when missing, initialised in a
temporary folder with password authentication, started on a free port and stopped at
the end. Run as root (CI), the server runs as the `postgres` user the package creates."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from pipelines.settings import REPO_ROOT

PASSWORD = "s3cret-Pg-pw-7"  # tests check it never reaches a log or an error message


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server():
    """Yields the URL of a running server (database postgres, user postgres), its files
    in a new folder of the system's temporary folder (pytest's are private to the user
    running the tests, which the server's own user cannot enter), removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="segments-postgres-"))
    if _binaries() is None:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "install-postgres.sh")], check=True)
    binaries = _binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL could not be installed (scripts/install-postgres.sh)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, password_file = folder / "data", folder / "password"
    password_file.write_text(PASSWORD)
    if as_user:
        os.chown(password_file, pwd.getpwnam("postgres").pw_uid, -1)
    subprocess.run(
        [
            *as_user,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=scram-sha-256",
            f"--pwfile={password_file}",
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [*as_user, str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run(
        [*pg_ctl, "-l", str(folder / "server.log"), "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
