# Installs what building and testing need on a fresh Debian machine. Source this file.

qspp_apt_install() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing ${missing[*]} with apt-get" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The C libraries the build links: Debian's reference Argon2id.
qspp_build_dependencies() {
    qspp_apt_install libargon2-dev
}

# Test-only Python tools: pyotp (an independent TOTP) and dilithium-py (an independent ML-DSA).
qspp_python_test_tools() {
    python3 -c 'import pyotp, dilithium_py' 2>/dev/null && return 0
    echo "Installing pyotp and dilithium-py with pip (test-only)" >&2
    python3 -m pip install --quiet --disable-pip-version-check pyotp==2.12.1 dilithium-py==1.5.1
}
