#!/usr/bin/env bash
# Installs the OpenID Connect provider the web tests sign in at: the npm
# packages tests/oidc/package-lock.json pins (oidc-provider and its
# dependencies, each with its integrity hash), outside the clone, in
#   ${AUTHSVC_TEST_CACHE:-/var/cache/authsvc-test}/oidc-provider/<sha256 of the lockfile>/node_modules
# (beside the package.json and lockfile it came from), and prints that
# folder on stdout; tests/e2e/oidc_provider.py finds it the same way. A
# folder that exists is complete (it is renamed into place once installed
# and checked), so a second run does nothing: CI from a fresh clone does
# not fetch again, and a changed lockfile gets a folder of its own.
#
# Needs Node.js 18 or later. If `node` is missing, installs Debian's nodejs
# and npm (Node 18 on Debian 12). Fetches nothing but the locked packages:
# `npm ci` with install scripts, audit, fund and the update check off.
set -euo pipefail
cd "$(dirname "$0")/.."
lock=$PWD/tests/oidc/package-lock.json
manifest=$PWD/tests/oidc/package.json

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi

key=$(sha256sum "$lock" | cut -c1-64)
base=${AUTHSVC_TEST_CACHE:-/var/cache/authsvc-test}/oidc-provider
target=$base/$key
if [[ -d $target/node_modules ]]; then
  echo "$target/node_modules"
  exit 0
fi

if ! command -v node >/dev/null; then
  echo "install-oidc-provider: no node; installing Debian's nodejs and npm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm
fi
# NodeSource's nodejs carries npm; Debian's does not.
if ! command -v npm >/dev/null; then
  echo "install-oidc-provider: no npm; installing Debian's npm" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if ((major < 18)); then
  echo "install-oidc-provider: node $(node --version) is too old; oidc-provider 8 needs 18 or later" >&2
  exit 1
fi

if [[ ! -d $base ]]; then
  $sudo mkdir -p "$base"
  if [[ -n $sudo ]]; then $sudo chown "$(id -u):$(id -g)" "$base"; fi
fi
# Install into a temporary folder beside the target and rename it into
# place: an interrupted run leaves no half-installed folder behind under
# the name the tests look for.
work=$(mktemp -d "$base/.installing.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$manifest" "$lock" "$work/"
started=$SECONDS
echo "install-oidc-provider: npm ci in $work (node $(node --version), npm $(npm --version))" >&2
(cd "$work" && npm_config_update_notifier=false npm ci --ignore-scripts --no-audit --no-fund \
   --loglevel=warn >&2)
# The tree must load with this node before it is kept.
node --input-type=module -e '
  const entry = process.argv[1] + "/node_modules/oidc-provider/lib/index.js";
  const { default: Provider } = await import(entry);
  if (typeof Provider !== "function") throw new Error("no Provider in " + entry);
' "$work" >&2
chmod 755 "$work"
if ! mv -T "$work" "$target" 2>/dev/null; then
  # Another run installed it meanwhile.
  [[ -d $target/node_modules ]] || { echo "install-oidc-provider: cannot create $target" >&2; exit 1; }
fi
echo "install-oidc-provider: installed in $((SECONDS - started)) s" >&2
echo "$target/node_modules"
