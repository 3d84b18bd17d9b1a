# Shared by the scripts: where things are and how to build for wasm32 on this machine.
# Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_TARGET=wasm32-unknown-unknown
# The wasm build has its own target dir: a second toolchain must not rebuild the host's.
WASM_TARGET_DIR="$ROOT/target/wasm"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A workstation with rustup's wasm32 target uses it; elsewhere Debian's Rust builds the
# standard library from source (see TOOLCHAIN.md in the project notes).
has_rustup_wasm_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx "$WASM_TARGET"
}

# wasm_cargo SUBCOMMAND [ARGS...]: the target flags go right after the subcommand, so that
# arguments after `--` (clippy's, the test runner's) stay where the caller put them.
wasm_cargo() {
  local sub="$1"
  shift
  if has_rustup_wasm_target; then
    cargo "$sub" --target "$WASM_TARGET" --target-dir "$WASM_TARGET_DIR" "$@"
  else
    # /usr/bin first: Debian's cargo must find Debian's clippy-driver, not rustup's.
    PATH="/usr/bin:$PATH" RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo "$sub" \
      --target "$WASM_TARGET" --target-dir "$WASM_TARGET_DIR" -Zbuild-std=std,panic_abort "$@"
  fi
}

# The wasm-bindgen version Cargo.lock pins; the CLI must match it exactly.
# WebKitGTK's MiniBrowser, the browser WebKitWebDriver starts (Debian keeps it out of PATH).
webkit_minibrowser() {
  ls /usr/lib/*/webkit2gtk-4.1/MiniBrowser 2>/dev/null | head -n 1
}

wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock"
}
die() {
  printf '\033[1;31merror: %s\033[0m\n' "$*" >&2
  exit 1
}

# Every script that builds or tests makes sure of the tools first (once per top-level script).
ensure_setup() {
  if [ -z "${RUNBASE_SETUP_DONE:-}" ]; then
    "$ROOT/scripts/setup"
    export RUNBASE_SETUP_DONE=1
  fi
}
