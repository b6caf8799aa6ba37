#!/bin/sh
# run.sh — `make deploy-test`: deploy/kubernetes/ checked offline.
#   1. check.py (python3-yaml): probes, ports, Service/PDB selectors,
#      preStop drain, requests, the ARI password from a Secret.
#   2. validate.js: every object against Kubernetes' schemas (npm
#      kubernetes-models + js-yaml, installed once into
#      $MAI_K8S_CACHE, default /var/cache/mai-k8s).  Without node/npm or
#      the npm registry: step 2 says "not run" and step 1 still decides.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${MAI_K8S_CACHE:-/var/cache/mai-k8s}

python3 -c 'import yaml' 2>/dev/null || apt-get install -y -q python3-yaml >/dev/null 2>&1 ||
    { echo "deploy-test: not run: python3-yaml missing"; exit 0; }
python3 "$HERE/check.py" || exit 1
if ! [ -d "$CACHE/node_modules/kubernetes-models" ]; then
	if command -v npm >/dev/null 2>&1 && mkdir -p "$CACHE"; then
		(cd "$CACHE" && npm install --no-audit --no-fund --silent \
		    kubernetes-models js-yaml >"$CACHE/npm.log" 2>&1) ||
		    echo "deploy-validate: not run: npm install failed (see $CACHE/npm.log)"
	else
		echo "deploy-validate: not run: no npm"
	fi
fi
[ -d "$CACHE/node_modules/kubernetes-models" ] || exit 0
NODE_PATH=$CACHE/node_modules node "$HERE/validate.js"
