#!/usr/bin/env bash
# Builds authsvc's Debian package and prints its path as the last line.
#   scripts/package.sh                   a release build in build-package/,
#                                        with Debian's hardening flags
#   scripts/package.sh --build-dir DIR   packages the build in DIR as it is
#                                        configured (the package test packs
#                                        the suite's own build this way)
#   --out DIR                            where the .deb goes (default: the build dir)
# What goes where, and the maintainer scripts: cmake/package.cmake and
# packaging/.
set -euo pipefail

# Folders as given, from where it was called.
build_dir=""
out_dir=""
while (($# > 0)); do
  case "$1" in
    --build-dir) build_dir=$(realpath -m -- "$2"); shift 2 ;;
    --out) out_dir=$(realpath -m -- "$2"); shift 2 ;;
    *) echo "usage: scripts/package.sh [--build-dir DIR] [--out DIR]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

scripts/install-deps.sh --package >&2
if [[ -z $build_dir ]]; then
  build_dir=$PWD/build-package
  # Debian's own flags for packages, hardening all on: fortified functions,
  # stack protector, full RELRO with immediate binding, PIE.
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  cppflags=$(dpkg-buildflags --get CPPFLAGS)
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS=$(dpkg-buildflags --get CXXFLAGS) $cppflags" \
    "-DCMAKE_EXE_LINKER_FLAGS=$(dpkg-buildflags --get LDFLAGS)" >&2
fi
if [[ ! -f $build_dir/CPackConfig.cmake ]]; then
  echo "package.sh: $build_dir is not a configured authsvc build" >&2
  exit 1
fi
# Only what the package holds: the binary and the man page, not the tests.
cmake --build "$build_dir" -j "$(nproc)" --target authsvc authsvc_manpage >&2
out_dir=${out_dir:-$build_dir}
mkdir -p "$out_dir"
said=$(cd "$build_dir" && cpack -G DEB -B "$out_dir")
echo "$said" >&2
# "CPack: - package: PATH generated."
deb=$(sed -n 's/^CPack: - package: \(.*\.deb\) generated\.$/\1/p' <<<"$said")
if [[ -z $deb || ! -f $deb ]]; then
  echo "package.sh: cpack named no package" >&2
  exit 1
fi
echo "$deb"
