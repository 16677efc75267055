#!/usr/bin/python3
"""Makes tests/data/rabbit-password-vectors.json: RabbitMQ password hashes
computed here, with Python's hashlib, independently of authsvc's C++.

    make_rabbit_password_vectors.py            writes the file
    make_rabbit_password_vectors.py --check    exits 1 if the committed file is
                                               not what this script makes (CTest
                                               runs it)

RabbitMQ keeps a password as base64 of a 4-byte salt followed by
H(salt + UTF-8 password), H being SHA-256 (rabbit_password_hashing_sha256,
the default), SHA-512 or MD5; `rabbitmqctl export_definitions` writes that
text as `password_hash`, the module's name as `hashing_algorithm`.
authsvc/core/credential_test.cc checks that authsvc accepts each password
below against its hash, and refuses near misses.

The salts are fixed (not random) so that the output is deterministic and
reviewable; they include zero bytes and bytes above 0x7f, where a string
based implementation would go wrong. The passwords are test-only strings.
"""

import argparse
import base64
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUTPUT = os.path.join(HERE, "rabbit-password-vectors.json")

ALGORITHMS = {
    "rabbit_password_hashing_sha256": hashlib.sha256,
    "rabbit_password_hashing_sha512": hashlib.sha512,
    "rabbit_password_hashing_md5": hashlib.md5,
}

SALTS = [bytes.fromhex(h) for h in ("908dc60a", "00000000", "ffffff7f", "0a0d2000")]

PASSWORDS = [
    "",  # RabbitMQ itself refuses a blank password at login; the hash is still well defined
    "guest",
    "pulse-password-1",
    "p\u00e4ssw\u00f6rd \u2603 \u65e5\u672c",  # UTF-8: 2- and 3-byte sequences, a space
    "emoji \U0001f407",  # a 4-byte UTF-8 sequence
    "x" * 1000,  # longer than any digest's block
    "quote\"back\\slash\ttab",
]


def vectors():
    out = []
    for algorithm, hash_function in ALGORITHMS.items():
        for i, password in enumerate(PASSWORDS):
            salt = SALTS[i % len(SALTS)]
            digest = hash_function(salt + password.encode("utf-8")).digest()
            out.append({
                "algorithm": algorithm,
                "password": password,
                "salt_hex": salt.hex(),
                "password_hash": base64.b64encode(salt + digest).decode("ascii"),
            })
    return out


def render():
    return json.dumps(vectors(), indent=1, ensure_ascii=True) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render()
    if args.check:
        try:
            with open(OUTPUT, encoding="utf-8") as f:
                committed = f.read()
        except FileNotFoundError:
            committed = None
        if committed != text:
            print("%s is not what %s makes; run it and commit the result"
                  % (os.path.relpath(OUTPUT), os.path.basename(__file__)))
            return 1
        print("%s: %d vectors, as this script makes them" % (os.path.basename(OUTPUT),
                                                               len(vectors())))
        return 0
    with open(OUTPUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
