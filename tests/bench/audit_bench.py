#!/usr/bin/python3
"""Audit query benchmark: `authsvc audit` on a large audit log against
`grep -c` on the same file, the floor for reading it at all.

    tests/bench/audit_bench.py --authsvc build/authsvc/authsvc
                               [--dir build/bench-audit] [--megabytes 1024]
                               [--rounds 3] [--gzip]
                               [--scan-bench build/tests/bench/audit_scan_bench]

What it does:
  1. writes (once; kept in --dir for the next run, remade when its size or
     this script's generator changes) an audit log of --megabytes, shaped
     like serve's: decision lines as audit_line.cc writes them, from 40
     users and services, logins, vhost, resource and topic checks, allows
     and denies by the built-in rules' names and reasons, and among them
     user-management (CLI) and web lines, about 1 in 200 each. Beside it,
     what the generator counted (lines per user, per rule, denies);
  2. reads the file once, so that every command below finds it in the page
     cache alike;
  3. times, in alternating rounds so that machine drift hits all alike:
       grep -c '"user":"X"' FILE                    (the baseline)
       authsvc audit FILE --user X                  (its output read and counted)
       authsvc audit FILE --summary
       authsvc audit FILE --decision deny --rule R
     and prints each round, the medians (wall seconds, MB/s, CPU seconds)
     and each audit query's ratios to grep's medians, wall and CPU;
  4. checks each command's answer against the generator's counts (grep's
     count, the lines audit printed, the summary's total), so that a fast
     wrong answer does not pass.
With --scan-bench, it first runs that program on the log's first 256 MB:
scan_audit_line against nlohmann::json::parse per line, in process.
With --gzip it also compresses the file (gzip -6, as logrotate does) and
times `authsvc audit FILE.gz --user X` against `zcat FILE.gz | grep -c`.
Exit status 0 whatever the figures (1 if an answer is wrong): targets are
for people to judge.
"""

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time

GENERATOR_VERSION = 1
USER = "alice"  # the user the queries look for: about 1 line in 25
DENY_RULE = "queue-named-exchange"

PEOPLE = ["alice", "bob", "carol", "dana", "erin", "frank", "grace", "heidi"]
SERVICES = ["ci-builds", "treeherder", "taskcluster-queue", "pulse-monitor", "autoland",
            "bugbot", "release-promotion", "code-review", "perfherder", "mozci"]
USERS = PEOPLE + SERVICES + ["svc-%02d" % i for i in range(22)]
# How often each kind of request comes, as a broker sends them.
ENDPOINTS = [("user", 10), ("vhost", 10), ("resource", 60), ("topic", 20)]


def json_string(text):
    return json.dumps(text, ensure_ascii=False)


def make_log(path, megabytes, seed=20261127):
    """Writes the log; returns what it counted."""
    rng = random.Random(seed)
    target = megabytes * 1024 * 1024
    counts = {"lines": 0, "users": {}, "rules": {}, "deny": 0, "deny_rule": 0}
    weights = [50 if u == USER else (30 if u in SERVICES else 20) for u in USERS]
    endpoint_names = [e for e, _ in ENDPOINTS]
    endpoint_weights = [w for _, w in ENDPOINTS]
    ts = 1795820400_000000  # 2026-11-27T23:00:00Z, in microseconds
    written = 0
    chunk = []

    def rfc3339(us):
        seconds, micros = divmod(us, 1_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%06dZ" % micros

    def count(user, rule, deny):
        counts["lines"] += 1
        counts["users"][user] = counts["users"].get(user, 0) + 1
        counts["rules"][rule] = counts["rules"].get(rule, 0) + 1
        if deny:
            counts["deny"] += 1
            if rule == DENY_RULE:
                counts["deny_rule"] += 1

    with open(path, "w", encoding="utf-8") as out:
        while written < target:
            ts += rng.randint(1, 400)
            when = json_string(rfc3339(ts))
            user = rng.choices(USERS, weights)[0]
            roll = rng.random()
            if roll < 0.005:
                action = rng.choice(["user rotate", "user set", "user disable", "user enable",
                                     "user owner add"])
                line = ('{"ts":%s,"actor":"cli","operator":"root","action":%s,"user":%s,'
                        '"detail":%s,"decision":"ok"}'
                        % (when, json_string(action), json_string(user),
                           json_string("grace 1h" if action == "user rotate" else "")))
                count(user, "-", False)
            elif roll < 0.01:
                ok = rng.random() < 0.8
                line = ('{"ts":%s,"actor":"web","operator":"%s@example.org","via":"session",'
                        '"from":"203.0.113.%d","method":"POST","path":"/accounts/%s/rotate",'
                        '"action":"account rotate","user":%s,"detail":"","decision":"%s",'
                        '"status":%d,"reason":"%s"}'
                        % (when, rng.choice(PEOPLE), rng.randint(1, 254), user,
                           json_string(user), "ok" if ok else "denied", 200 if ok else 403,
                           "" if ok else "CSRF token missing"))
                count(user, "-", not ok)
            else:
                line, rule, deny = decision_line(rng, when, user,
                                                 rng.choices(endpoint_names, endpoint_weights)[0])
                count(user, rule, deny)
            chunk.append(line)
            written += len(line.encode("utf-8")) + 1
            if len(chunk) >= 10000:
                out.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            out.write("\n".join(chunk) + "\n")
    return counts


def decision_line(rng, when, user, endpoint):
    """A decision line as audit_line.cc writes one; and its rule, and
    whether it denies."""
    peer = "10.0.%d.%d:%d" % (rng.randint(0, 3), rng.randint(1, 254), rng.randint(30000, 60000))
    vhost = resource = name = permission = routing_key = ip = credential = ""
    if endpoint == "user":
        if rng.random() < 0.95:
            rule, deny, reason, credential = "login", False, "token accepted", "current"
        else:
            rule, deny, reason = rng.choice([("login", True, "wrong token"),
                                             ("unknown-user", True, "no such user"),
                                             ("disabled-user", True, "user is disabled")])
    elif endpoint == "vhost":
        vhost, ip = "/", "10.1.%d.%d" % (rng.randint(0, 3), rng.randint(1, 254))
        rule, deny, reason = "vhost-grant", False, "vhost granted"
    else:
        vhost = "/"
        owner = user if rng.random() < 0.7 else rng.choice(USERS)
        suffix = rng.choice(["builds", "jobs", "v1", "v2", "notifications", "pushes", "tasks"])
        if endpoint == "resource":
            resource = rng.choice(["exchange", "queue"])
            permission = rng.choice(["configure", "write", "read"])
            if rng.random() < 0.04:
                resource, name = "queue", "exchange/%s/%s" % (owner, suffix)
                rule, deny, line_no = DENY_RULE, True, 8
            elif owner == user:
                name = "%s/%s/%s" % (resource, owner, suffix)
                rule = "own-" + resource
                deny, line_no = False, 11 if resource == "exchange" else 12
            elif resource == "exchange" and permission == "read":
                name = "exchange/%s/%s" % (owner, suffix)
                rule, deny, line_no = "any-exchange-read", False, 14
            else:
                name = "%s/%s/%s" % (resource, owner, suffix)
                rule, deny, line_no = "default-deny", True, 0
        else:
            resource = "topic"
            permission = rng.choice(["write", "read"])
            name = "exchange/%s/%s" % (owner, suffix)
            routing_key = "%s.%s.#" % (rng.choice(["gecko", "try", "autoland"]),
                                       rng.choice(["linux64", "win64", "macosx", "android"]))
            if permission == "read":
                rule, deny, line_no = "any-topic-read", False, 17
            elif owner == user:
                rule, deny, line_no = "own-topic-write", False, 16
            else:
                rule, deny, line_no = "default-deny", True, 0
        if rule == "default-deny":
            reason = "no rule allows this"
        else:
            reason = "%s by rule %s (line %d)" % ("denied" if deny else "allowed", rule, line_no)
    line = ('{"ts":%s,"endpoint":"%s","user":%s,"vhost":%s,"resource":"%s","name":%s,'
            '"permission":"%s","routing_key":%s,"ip":"%s","peer":"%s","decision":"%s",'
            '"status":200,"rule":"%s","reason":%s,"credential":"%s","us":%d}'
            % (when, endpoint, json_string(user), json_string(vhost), resource, json_string(name),
               permission, json_string(routing_key), ip, peer, "deny" if deny else "allow", rule,
               json_string(reason), credential, rng.randint(20, 400)))
    return line, rule, deny


def prepare(directory, megabytes):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "audit.log")
    meta_path = path + ".counts.json"
    meta = None
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("version") != GENERATOR_VERSION or meta.get("megabytes") != megabytes or \
                meta.get("bytes") != os.path.getsize(path):
            meta = None
    if meta is None:
        print("audit bench: writing %d MB of audit log to %s" % (megabytes, path), flush=True)
        started = time.perf_counter()
        counts = make_log(path, megabytes)
        meta = {"version": GENERATOR_VERSION, "megabytes": megabytes,
                "bytes": os.path.getsize(path), "counts": counts}
        with open(meta_path, "w") as f:
            json.dump(meta, f)
        print("audit bench: written in %.0f s" % (time.perf_counter() - started), flush=True)
    return path, meta


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv, shell=False):
    """Runs a command; returns (wall seconds, CPU seconds, stdout bytes)."""
    cpu = cpu_seconds()
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, shell=shell)
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    if done.returncode not in (0, 1) or (done.returncode == 1 and done.stderr):
        sys.exit("audit bench: %s failed (%d): %s" % (argv, done.returncode,
                                                       done.stderr.decode(errors="replace")))
    return elapsed, cpu, done.stdout


def summary_total(table):
    last = table.decode().strip().splitlines()[-1].split()
    return int(last[-1]) if last and last[0] == "(total)" else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--authsvc", required=True)
    parser.add_argument("--dir", default="build/bench-audit")
    parser.add_argument("--megabytes", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--scan-bench")
    args = parser.parse_args()

    path, meta = prepare(args.dir, args.megabytes)
    counts = meta["counts"]
    size = meta["bytes"]
    print("audit bench: %s, %d bytes, %d lines (%d of them %s's, %d denies, %d by %s)"
          % (path, size, counts["lines"], counts["users"][USER], USER, counts["deny"],
             counts["deny_rule"], DENY_RULE), flush=True)
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    if args.scan_bench:
        print("in process, one line at a time, the first 256 MB:", flush=True)
        subprocess.run([args.scan_bench, path, "256"], check=True)

    # Each command, what its answer must be, and how to read the answer.
    grep = ("grep -c '\"user\":\"%s\"' FILE" % USER, ["grep", "-c", '"user":"%s"' % USER, path],
            counts["users"][USER], lambda out: int(out))
    queries = [
        ("authsvc audit FILE --user %s" % USER, [args.authsvc, "audit", path, "--user", USER],
         counts["users"][USER], lambda out: out.count(b"\n")),
        ("authsvc audit FILE --summary", [args.authsvc, "audit", path, "--summary"],
         counts["lines"], summary_total),
        ("authsvc audit FILE --decision deny --rule %s" % DENY_RULE,
         [args.authsvc, "audit", path, "--decision", "deny", "--rule", DENY_RULE],
         counts["deny_rule"], lambda out: out.count(b"\n")),
    ]
    wrong = measure([grep] + queries, args.rounds, size)

    if args.gzip:
        gz = path + ".gz"
        if not os.path.exists(gz) or os.path.getmtime(gz) < os.path.getmtime(path):
            print("audit bench: compressing it (gzip -6) to %s" % gz, flush=True)
            subprocess.run("gzip -6 -c '%s' > '%s.tmp' && mv '%s.tmp' '%s'" % (path, gz, gz, gz),
                           shell=True, check=True)
        print("audit bench: %s, %d bytes" % (gz, os.path.getsize(gz)), flush=True)
        zgrep = ("zcat FILE.gz | grep -c '\"user\":\"%s\"'" % USER,
                 "zcat '%s' | grep -c '\"user\":\"%s\"'" % (gz, USER),
                 counts["users"][USER], lambda out: int(out))
        gz_query = ("authsvc audit FILE.gz --user %s" % USER,
                    [args.authsvc, "audit", gz, "--user", USER], counts["users"][USER],
                    lambda out: out.count(b"\n"))
        wrong += measure([zgrep, gz_query], args.rounds, size)
    return 1 if wrong else 0


def measure(commands, rounds, size):
    """Runs the commands in alternating rounds; the first is the baseline.
    Prints the rounds, the medians and the ratios; returns how many answers
    were wrong. Wall time is what an operator waits; CPU time (user + system,
    of the command and its children) is what it costs, and what a machine
    busy with other work distorts least."""
    wall = {label: [] for label, _, _, _ in commands}
    cpu = {label: [] for label, _, _, _ in commands}
    wrong = 0
    for r in range(1, rounds + 1):
        for label, argv, expected, read in commands:
            elapsed, used, out = run(argv, shell=isinstance(argv, str))
            wall[label].append(elapsed)
            cpu[label].append(used)
            got = read(out)
            status = "ok" if got == expected else "WRONG: %s, expected %s" % (got, expected)
            if got != expected:
                wrong += 1
            print("  round %d  %-64s %6.2f s %6.0f MB/s  cpu %5.2f s  answer %s" % (
                r, label, elapsed, size / elapsed / 1e6, used, status), flush=True)
    base_label = commands[0][0]
    base_wall = statistics.median(wall[base_label])
    base_cpu = statistics.median(cpu[base_label])
    print("medians of %d rounds, %.0f MB read each time:" % (rounds, size / 1e6))
    for label, _, _, _ in commands:
        w = statistics.median(wall[label])
        c = statistics.median(cpu[label])
        line = "  %-64s %6.2f s %6.0f MB/s  cpu %5.2f s" % (label, w, size / w / 1e6, c)
        if label != base_label:
            line += "  = %.2fx the baseline's wall (%.2f s / %.2f s), %.2fx its cpu (%.2f s / %.2f s)" % (
                w / base_wall, w, base_wall, c / base_cpu, c, base_cpu)
        print(line)
    return wrong


if __name__ == "__main__":
    sys.exit(main())
