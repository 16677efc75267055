#!/usr/bin/env python3
"""Checks contrib/systemd's unit files with systemd-analyze, no systemd needed.

  systemd_units_check.py SOURCE_DIR AUTHSVC_BINARY

(tests/package_check.py runs the same check on the units the package
installed: check_units.)

Each unit is copied to a temporary folder with ExecStart= pointing at the
built binary (verify requires the command to exist), then:
  - `systemd-analyze verify` must exit 0 and print nothing: it only warns,
    exit code 0, about an unknown key or a value it cannot parse, and fails
    only on worse (a command that is missing);
  - `systemd-analyze security --offline=true` prints its exposure score.
First, the check itself: deliberately broken copies (a misspelled key, a bad
value, a missing binary) must each fail verify, or this check proves nothing.
"""

import pathlib
import re
import subprocess
import sys
import tempfile

UNITS = ["authsvc.service", "authsvc-guardian.service", "authsvc-web.service"]


def verify(path):
    """Returns what is wrong with the unit at `path`, or "" if nothing."""
    run = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)],
                         capture_output=True, text=True, cwd=path.parent)
    said = (run.stdout + run.stderr).strip()
    if run.returncode != 0 or said:
        return f"exit {run.returncode}: {said}"
    return ""


def exposure(path):
    run = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                          str(path)], capture_output=True, text=True, cwd=path.parent)
    found = re.search(r"Overall exposure level for \S+: ([0-9.]+ \S+)", run.stdout)
    if not found:
        sys.exit(f"systemd-analyze security said nothing usable about {path.name}:\n"
                 f"{run.stdout}{run.stderr}")
    # The lines that still count against it: a ✗ and a weight.
    exposed = [line.rstrip() for line in run.stdout.splitlines() if line.startswith("✗")]
    return found.group(1), exposed


def check_units(units_dir, binary):
    """Verifies the units in `units_dir` with `binary` as their ExecStart's,
    prints each one's exposure, and returns what is wrong (a list)."""
    binary = str(pathlib.Path(binary).resolve())
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(tmp)
        texts = {}
        for name in UNITS:
            text = (pathlib.Path(units_dir) / name).read_text()
            if "ExecStart=/usr/bin/authsvc " not in text:
                failures.append(f"{name}: ExecStart= is not /usr/bin/authsvc")
            texts[name] = text.replace("/usr/bin/authsvc ", binary + " ")
            (folder / name).write_text(texts[name])

        broken = {
            "misspelled-key.service": texts[UNITS[0]].replace("ProtectSystem=", "ProtectSystm="),
            "bad-value.service": texts[UNITS[0]].replace("Type=notify", "Type=notifyy"),
            "missing-binary.service": texts[UNITS[0]].replace(binary + " ",
                                                              "/nonexistent/authsvc "),
        }
        for name, text in broken.items():
            (folder / name).write_text(text)
            if not verify(folder / name):
                failures.append(f"{name}: systemd-analyze verify took a broken unit")

        for name in UNITS:
            problem = verify(folder / name)
            if problem:
                failures.append(f"{name}: {problem}")
            score, exposed = exposure(folder / name)
            print(f"{name}: exposure {score}")
            for line in exposed:
                print(f"  {line}")
    return failures


def main():
    source, binary = pathlib.Path(sys.argv[1]), sys.argv[2]
    failures = check_units(source / "contrib/systemd", binary)
    for failure in failures:
        print(f"FAILED {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
