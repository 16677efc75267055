#!/usr/bin/python3
"""Checks the includes of authsvc/ against the architecture (README, Layout).

    /usr/bin/python3 tests/layering_check.py [SOURCE_DIR]

The linker already refuses a call from the pure core into anything that
does I/O: core_tests, the hot-path benchmark and the fuzz targets link the
core alone. This check says the same earlier and in words, and checks what
the linker cannot:

1. Layers. The folders are ordered core < store < import < guardian < server
   < web < cli;
   a file includes project headers from its own folder or from those before
   it, never after. Within store/, only the store itself and tests include
   its implementations (sql_*.h, sqlite_*.h, pg_*.h): everyone else goes
   through the interfaces (store.h, records.h) and open_store().
2. The pure core does no I/O: its files include no POSIX I/O or network
   header, and no third-party header but RE2 and OpenSSL's.
3. Third-party headers stay inside the files that use them: no header (.h)
   under authsvc/ includes anything but the C++ standard library and the
   project's own headers, so that including one never pulls in CLI11,
   GnuTLS, SQLite or an HTTP library.

Exits 1 with one line per violation; prints what it checked otherwise.
"""

import os
import re
import sys

LAYERS = ["core", "store", "import", "guardian", "server", "web", "cli"]
# The store's implementations (SQL, SQLite, PostgreSQL), behind store.h.
STORE_IMPLEMENTATION = {"authsvc/store/" + h for h in (
    "sql_database.h", "sql_store.h", "sqlite_database.h", "sqlite_store.h", "pg_database.h",
    "pg_store.h")}

# The C++ standard library's headers (C++20), the C headers among them
# spelled <cstdio>, <cstring> and so on.
STANDARD = set("""
algorithm any array atomic barrier bit bitset charconv chrono codecvt compare complex concepts
condition_variable coroutine deque exception execution filesystem format forward_list fstream
functional future initializer_list iomanip ios iosfwd iostream istream iterator latch limits list
locale map memory memory_resource mutex new numbers numeric optional ostream queue random ranges
ratio regex scoped_allocator semaphore set shared_mutex source_location span sstream stack
stdexcept stop_token streambuf string string_view syncstream system_error thread tuple
type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector version
cassert cctype cerrno cfenv cfloat cinttypes climits clocale cmath csetjmp csignal cstdarg
cstddef cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype
""".split())

# What the pure core may include besides the standard library and itself.
CORE_ALLOWED = {"re2/re2.h", "nlohmann/json.hpp"}
CORE_ALLOWED_PREFIXES = ("openssl/",)

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def includes(path):
    with open(path, encoding="utf-8") as f:
        return INCLUDE.findall(f.read())


# Sources beside the code they serve that are linked into its tests only
# (their CMakeLists.txt says so): they may use the tests' own headers.
TEST_SUPPORT = {"authsvc/store/schema_fixtures.cc", "authsvc/store/schema_fixtures.h"}


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    source = os.path.join(root, "authsvc")
    problems = []
    checked = 0
    for folder in sorted(os.listdir(source)):
        path = os.path.join(source, folder)
        if not os.path.isdir(path):
            continue
        if folder not in LAYERS:
            problems.append("authsvc/%s/: a folder the layering does not know; add it to "
                            "LAYERS in tests/layering_check.py and to the README" % folder)
            continue
        level = LAYERS.index(folder)
        for name in sorted(os.listdir(path)):
            if not name.endswith((".h", ".cc")):
                continue
            checked += 1
            rel = "authsvc/%s/%s" % (folder, name)
            is_test = name.endswith("_test.cc") or rel in TEST_SUPPORT
            for kind, target in includes(os.path.join(path, name)):
                where = "%s includes %s%s%s" % (rel, kind, target, '"' if kind == '"' else ">")
                if kind == '"':
                    m = re.match(r"authsvc/([a-z_]+)/", target)
                    if not m:
                        if not (is_test and target.startswith("tests/")):
                            problems.append(where + ": not a project header path")
                        continue
                    other = m.group(1)
                    if other not in LAYERS:
                        problems.append(where + ": unknown folder")
                    elif LAYERS.index(other) > level:
                        problems.append(where + ": %s/ comes after %s/ (the layers are %s)"
                                        % (other, folder, " < ".join(LAYERS)))
                    elif target in STORE_IMPLEMENTATION and folder != "store" \
                            and not is_test:
                        problems.append(where + ": use the store's interfaces (store.h) and "
                                        "open_store(), not an implementation")
                    continue
                standard = target in STANDARD
                if name.endswith(".h") and not standard:
                    problems.append(where + ": a header includes only the standard library and "
                                    "project headers (forward-declare, or move the include to "
                                    "the .cc)")
                elif folder == "core" and not is_test and not standard and \
                        target not in CORE_ALLOWED and not target.startswith(CORE_ALLOWED_PREFIXES):
                    problems.append(where + ": the pure core includes only the standard "
                                    "library, RE2 and OpenSSL")
    if checked == 0:
        problems.append("no source file found under %s" % source)
    for problem in problems:
        print("LAYERING: " + problem)
    if problems:
        return 1
    print("layering: %d files under authsvc/ follow %s, and no header includes a third-party "
          "header" % (checked, " < ".join(LAYERS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
