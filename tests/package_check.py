#!/usr/bin/python3
"""The Debian package, made by scripts/package.sh and installed with dpkg in
a throwaway root, its maintainer scripts run for real.

  package_check.py SOURCE_DIR BUILD_DIR

1. `scripts/package.sh --build-dir BUILD_DIR` packs this build (the binary
   the other tests ran); its last line is the .deb.
2. lintian reports no error (its warnings and notes are printed).
3. `dpkg --root ROOT --force-script-chrootless -i`: ROOT starts with this
   machine's dpkg database and account files, so the package's Depends must
   be met by the Debian packages installed here and none of its files may
   belong to another package; the maintainer scripts run here with
   DPKG_ROOT=ROOT, which they honour.
4. What is where: the issue's paths, the conffiles, the system user, the
   private directories, the database postinst made, serve enabled and the
   others not; the installed units pass systemd_units_check; the man page
   renders every command; the installed `authsvc --version` names this
   build's commit; and serve, run from the installed configuration, says
   it is ready.
5. Installing again (an upgrade's path) keeps the database; removing keeps
   the configuration; purging removes it and forgets the units, and keeps
   the database and the user.
"""

import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "e2e"))
import systemd_units_check  # noqa: E402
import token_ledger  # noqa: E402
from timing import scaled, wait_for  # noqa: E402

UNITS = ["authsvc.service", "authsvc-guardian.service", "authsvc-web.service"]
INSTALLED = [
    "usr/bin/authsvc",
    "lib/systemd/system/authsvc.service",
    "lib/systemd/system/authsvc-guardian.service",
    "lib/systemd/system/authsvc-web.service",
    "etc/logrotate.d/authsvc",
    "etc/authsvc/authsvc.toml",
    "usr/share/man/man1/authsvc.1.gz",
    "usr/share/doc/authsvc/copyright",
    "usr/share/doc/authsvc/changelog.gz",
    "usr/share/doc/authsvc/examples/authsvc.toml.example",
    "usr/share/doc/authsvc/examples/rabbitmq.conf.example",
    "usr/share/doc/authsvc/examples/pulse.rules",
    "usr/share/doc/authsvc/examples/authsvc-dashboard.json",
    "usr/share/doc/authsvc/examples/authsvc-alerts.yml",
]
CONFFILES = ["/etc/authsvc/authsvc.toml", "/etc/logrotate.d/authsvc"]
DB = "var/lib/authsvc/authsvc.db"
LABEL = "package_check"

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAILED {what}", file=sys.stderr)
    return condition


def run(args, **kwargs):
    """Runs a command that must succeed; returns its stdout."""
    r = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=scaled(300), **kwargs)
    if r.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def dpkg(root, *args):
    return run(["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null",
                *args])


def passwd_entry(root, table, name):
    for line in (root / "etc" / table).read_text().splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def make_root(tmp):
    """A root with this machine's package database and account files, and
    nothing else."""
    root = tmp / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    shutil.copy2("/var/lib/dpkg/status", root / "var/lib/dpkg/status")
    for listing in pathlib.Path("/var/lib/dpkg/info").glob("*.list"):
        shutil.copy2(listing, root / "var/lib/dpkg/info" / listing.name)
    (root / "etc").mkdir()
    for name in ["passwd", "group", "shadow", "gshadow", "login.defs"]:
        shutil.copy2(f"/etc/{name}", root / "etc" / name)
    # The test's temporary folder is private; the service's user must be
    # able to reach what is its own.
    for folder in [tmp, root]:
        folder.chmod(0o755)
    return root


def cli(root, artifacts, *args):
    """The installed authsvc on the installed database."""
    out = run([str(root / "usr/bin/authsvc"), *args, "--db", str(root / DB)])
    out = token_ledger.record_and_redact(args, out, LABEL)
    token_ledger.keep_text(artifacts, "cli.log", f"$ authsvc {' '.join(args)}\n{out}")
    return out


def check_lintian(deb):
    r = subprocess.run(["lintian", "--info", "--display-info", "--pedantic", deb],
                       capture_output=True, text=True, timeout=scaled(300))
    tags = [line for line in r.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    by_level = {level: sum(1 for t in tags if t.startswith(level + ":")) for level in "EWIP"}
    print("lintian: %d errors, %d warnings, %d notes, %d pedantic"
          % (by_level["E"], by_level["W"], by_level["I"], by_level["P"]))
    for tag in tags:
        print(f"  {tag}")
    check(r.returncode == 0 and by_level["E"] == 0,
          f"lintian: exit {r.returncode}, {by_level['E']} errors\n{r.stderr}")


def check_installed(root):
    for path in INSTALLED:
        check((root / path).is_file(), f"/{path} is installed")
    status = run(["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W",
                  "-f=${Status}\n${Conffiles}\n", "authsvc"])
    check(status.startswith("install ok installed"), f"dpkg says authsvc is installed: {status}")
    for conffile in CONFFILES:
        check(f" {conffile} " in status, f"{conffile} is a conffile")

    user = passwd_entry(root, "passwd", "authsvc")
    group = passwd_entry(root, "group", "authsvc")
    if not (check(user is not None, "postinst made the user authsvc")
            and check(group is not None, "postinst made the group authsvc")):
        return None
    uid, gid = int(user[2]), int(group[2])
    check(uid < 1000 and user[3] == group[2], f"authsvc is a system user in its group: {user}")
    check(user[5] == "/var/lib/authsvc" and user[6] == "/usr/sbin/nologin",
          f"authsvc's home and shell: {user}")
    for path, mode, owner in [("var/lib/authsvc", 0o700, (uid, gid)),
                              ("var/log/authsvc", 0o700, (uid, gid)),
                              ("etc/authsvc", 0o750, (0, gid)),
                              (DB, 0o600, (uid, gid))]:
        st = (root / path).stat()
        check((stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)) == (mode, owner),
              f"/{path} is {mode:o} {owner}: it is {stat.S_IMODE(st.st_mode):o} "
              f"{(st.st_uid, st.st_gid)}")

    wants = root / "etc/systemd/system/multi-user.target.wants"
    check(os.readlink(wants / "authsvc.service") == "/lib/systemd/system/authsvc.service",
          "authsvc.service is enabled")
    for unit in UNITS[1:]:
        check(not (wants / unit).is_symlink(), f"{unit} is not enabled until configured")
    return uid, gid


def check_unit_commands(root, deb):
    """Every program a unit runs is the package's own, or comes from a
    package it depends on or one every Debian system has (Essential)."""
    depends = run(["dpkg-deb", "--field", deb, "Depends"])
    wanted = {re.split(r"[\s(]", d.strip())[0] for d in depends.split(",")}
    for unit in UNITS:
        for line in (root / "lib/systemd/system" / unit).read_text().splitlines():
            found = re.match(r"^Exec\w+=[-@:+!]*(\S+)", line)
            if not found or found.group(1) == "/usr/bin/authsvc":
                continue
            program = found.group(1)
            owner = run(["dpkg-query", "-S", program]).split(":")[0]
            essential = run(["dpkg-query", "-W", "-f=${Essential}", owner]).strip() == "yes"
            check(owner in wanted or essential,
                  f"{unit} runs {program}, of {owner}, which authsvc does not depend on")


def check_man_page(root):
    page = run(["man", "--local-file", str(root / "usr/share/man/man1/authsvc.1.gz")],
               env={**{k: v for k, v in os.environ.items() if k != "MAN_KEEP_FORMATTING"},
                    "MANWIDTH": "100"})
    for heading in ["NAME", "SYNOPSIS", "OPTIONS", "COMMANDS", "FILES"]:
        check(re.search(rf"^{heading}$", page, re.M), f"the man page has {heading}")
    for command in ["authsvc serve", "authsvc user add", "authsvc user owner remove",
                    "authsvc audit", "authsvc guardian", "authsvc web"]:
        check(re.search(rf"^\s+{command}$", page, re.M), f"the man page has {command}")
    check("--metrics-listen" in page, "the man page shows serve's --metrics-listen")
    check("Usage: authsvc serve [OPTIONS]" in page, "usage lines name authsvc, not a path")


def check_version(root, source):
    said = run([str(root / "usr/bin/authsvc"), "--version"]).strip()
    found = re.fullmatch(r"authsvc (\d+\.\d+\.\d+) \(commit ([0-9a-f]{7,})(-dirty)?\)", said)
    if check(found, f"--version says the version and commit: {said!r}"):
        head = run(["git", "-C", str(source), "rev-parse", "HEAD"]).strip()
        check(head.startswith(found.group(2)), f"--version's commit is HEAD {head}: {said}")
        print(f"installed: {said}")


def check_serve_from_installed_config(root, tmp, artifacts):
    """serve from the installed binary and configuration (its paths pointed
    into the root, its ports at free ones) loads the database postinst
    made and says it is ready."""
    stderr_path = tmp / "serve.stderr"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen(
            [str(root / "usr/bin/authsvc"), "serve", "--config", str(root / "etc/authsvc/authsvc.toml"),
             "--db", str(root / DB), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
             "--audit-log", str(tmp / "serve-audit.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    def running():
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}: {stderr_path.read_text()}")
        return True

    def metrics_url():
        found = re.findall(r"metrics on (http://\S+)/metrics", stderr_path.read_text())
        return running() and found and found[0]

    def ready():
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=scaled(5)) as answer:
                return running() and answer.read().decode().strip()
        except OSError:  # not listening yet, or 503 (not ready yet)
            return running() and None

    try:
        url = wait_for(metrics_url, 30, "serve's metrics address")
        check(wait_for(ready, 30, "serve's /readyz") == "ready",
              "serve from the installed configuration is ready")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(scaled(30))
        token_ledger.keep_text(artifacts, "serve.stderr", stderr_path.read_text())
        if artifacts and (tmp / "serve-audit.log").exists():
            shutil.copy2(tmp / "serve-audit.log", artifacts)
    check(code == 0, f"serve stopped with exit {code}")


def main():
    source, build = pathlib.Path(sys.argv[1]).resolve(), pathlib.Path(sys.argv[2]).resolve()
    token_ledger.note_run(LABEL)
    artifacts = token_ledger.artifact_dir(LABEL)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = pathlib.Path(tmp_name)
        said = run([str(source / "scripts/package.sh"), "--build-dir", str(build),
                    "--out", str(tmp / "out")])
        deb = said.splitlines()[-1]
        check(deb.endswith(".deb") and os.path.isfile(deb), f"package.sh's last line: {deb!r}")
        print(f"package: {deb} ({os.path.getsize(deb)} bytes)")
        check_lintian(deb)

        root = make_root(tmp)
        dpkg(root, "-i", deb)
        ids = check_installed(root)
        failures.extend(systemd_units_check.check_units(root / "lib/systemd/system",
                                                        root / "usr/bin/authsvc"))
        check_unit_commands(root, deb)
        check_man_page(root)
        check_version(root, source)
        check_serve_from_installed_config(root, tmp, artifacts)

        # An account in the database, then the upgrade's path: the same
        # package again runs prerm upgrade and postinst configure on it.
        cli(root, artifacts, "user", "add", "probe", "--owner", "ops@example.org")
        dpkg(root, "-i", deb)
        check("probe" in cli(root, artifacts, "user", "list"), "a reinstall keeps the accounts")

        dpkg(root, "--remove", "authsvc")
        check(not (root / "usr/bin/authsvc").exists(), "remove takes the binary")
        check((root / "etc/authsvc/authsvc.toml").is_file(), "remove keeps the configuration")
        dpkg(root, "--purge", "authsvc")
        check(not (root / "etc/authsvc").exists(), "purge takes /etc/authsvc")
        check(not (root / "etc/systemd/system/multi-user.target.wants/authsvc.service")
              .is_symlink(), "purge forgets that serve was enabled")
        check((root / DB).is_file() and ids is not None
              and (root / DB).stat().st_uid == ids[0], "purge keeps the database")
        check(passwd_entry(root, "passwd", "authsvc") is not None, "purge keeps the user")
        for name in os.listdir(root / "var/lib/authsvc"):
            if token_ledger.ARTIFACTS and name.endswith(token_ledger.DATABASE_SUFFIXES):
                token_ledger.scan_database(str(root / "var/lib/authsvc" / name), LABEL)
    if failures:
        print(f"{len(failures)} checks failed", file=sys.stderr)
        return 1
    print("package check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
