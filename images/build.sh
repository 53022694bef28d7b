#!/usr/bin/env bash
# Builds every reference role image, bcbench/reference-<role>:$TAG, from the
# project's own static binary, FROM scratch: no registry is needed.
#
#   images/build.sh            # every images/reference-*.Dockerfile
#   images/build.sh xis        # only the named roles
#
# Environment:
#   TAG          image tag (default dev)
#   BCBENCH_BIN  a static bcbench binary to use instead of building one
#   VERSION      the version built into the binary (default: git describe)
#   GO           the go command (default go)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
tag="${TAG:-dev}"
go="${GO:-go}"

if ! command -v docker >/dev/null 2>&1; then
	echo "images/build.sh: the docker command is not installed" >&2
	exit 2
fi
if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
	echo "images/build.sh: no Docker engine answers" >&2
	exit 2
fi

ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT

if [[ -n "${BCBENCH_BIN:-}" ]]; then
	cp "$BCBENCH_BIN" "$ctx/bcbench"
else
	version="${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}"
	(cd "$root" && CGO_ENABLED=0 "$go" build -trimpath -ldflags "-s -w -X main.version=$version" -o "$ctx/bcbench" ./cmd/bcbench)
fi

roles=("$@")
if [[ ${#roles[@]} -eq 0 ]]; then
	for f in "$here"/reference-*.Dockerfile; do
		r="$(basename "$f" .Dockerfile)"
		roles+=("${r#reference-}")
	done
fi

for role in "${roles[@]}"; do
	dockerfile="$here/reference-$role.Dockerfile"
	if [[ ! -f "$dockerfile" ]]; then
		echo "images/build.sh: no $dockerfile" >&2
		exit 2
	fi
	cp "$dockerfile" "$ctx/Dockerfile"
	# The legacy builder needs nothing pulled for FROM scratch; BuildKit is
	# used where the buildx plugin is installed.
	if ! docker buildx version >/dev/null 2>&1; then
		export DOCKER_BUILDKIT=0
	fi
	old="$(docker image inspect -f '{{.Id}}' "bcbench/reference-$role:$tag" 2>/dev/null || true)"
	id="$(docker build --quiet --label "org.opencontainers.image.title=bcbench reference $role" -t "bcbench/reference-$role:$tag" "$ctx" 2> >(grep -v -e DEPRECATED -e 'legacy builder' -e 'buildx component' -e 'docs.docker.com/go/buildx' -e 'BuildKit is currently disabled' -e 'environment-variable' -e '^\s*$' >&2))"
	# The image this tag named before is now dangling: remove it (kept
	# when a container still uses it).
	if [[ -n "$old" && "$old" != "$id" ]]; then
		docker rmi "$old" >/dev/null 2>&1 || true
	fi
	echo "bcbench/reference-$role:$tag $id"
done
