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

# Test-only Python tools: pyotp (an independent TOTP), dilithium-py (an independent ML-DSA), aiosmtpd
# (a real SMTP server for the mail tests), cbor2 (an independent CBOR), soft-webauthn with its fido2
# (COSE keys made by other code), authlib with joserfc (an OpenID Connect relying party and an
# independent JOSE), and standardwebhooks (an independent check of webhook signatures). fido2 needs
# cryptography below 45, and joserfc 1.5.0 is the newest that allows it.
qspp_python_test_tools() {
    python3 -c 'import pyotp, dilithium_py, pydvl, psutil, aiosmtpd, cbor2, soft_webauthn, fido2, authlib, joserfc, standardwebhooks' \
        2>/dev/null && return 0
    echo "Installing pyotp, dilithium-py, pyDVL, aiosmtpd, cbor2, soft-webauthn, authlib, joserfc and standardwebhooks with pip" \
        "(test-only)" >&2
    python3 -m pip install --quiet --disable-pip-version-check pyotp==2.12.1 dilithium-py==1.5.1 pydvl==0.10.0 \
        aiosmtpd==1.4.6 cbor2==6.3.0 soft-webauthn==0.1.4 psutil authlib==1.6.5 joserfc==1.5.0 standardwebhooks==1.3.0 requests \
        'cryptography>=42,<45'
}

# What the benchmarks need besides the build: PostgreSQL's tools (sets PG_BIN), wrk and curl.
qspp_bench_tools() {
    qspp_find_pg_bin || { qspp_apt_install postgresql; qspp_find_pg_bin; }
    command -v wrk >/dev/null || qspp_apt_install wrk
    command -v curl >/dev/null || qspp_apt_install curl
}

# Builds the release binary (progress on standard error) and prints its path: the shipped static
# build, so that benchmarks measure what ships and share one build with scripts/check/check-static.sh
# (a plain `-c release` build in the same folder would rebuild everything each time they alternate).
qspp_release_binary() {
    qspp_build_dependencies
    scripts/dev/build-static.sh .build/static
    echo "$PWD/.build/static/qspp"
}

# qspp_wait_until SECONDS WHAT COMMAND...: runs COMMAND (quietly) every 0.05 s until it succeeds. If it
# has not by SECONDS, prints what it waited for and exits the calling script with status 1 (its EXIT
# trap still runs), so that no script can hang on, or carry on past, something that never came.
qspp_wait_until() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$(($(date +%s) + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "gave up after $seconds s waiting for $what" >&2
            exit 1
        fi
        sleep 0.05
    done
}

# qspp_wait_ready URL [PID] [LOG] [SECONDS, default ${QSPP_READY_TIMEOUT:-60}]: waits until URL/ready
# answers 2xx. Gives up at once if PID (the server) has exited, or after SECONDS; either way prints
# what it waited for and LOG's last lines, and exits the calling script with status 1.
qspp_wait_ready() {
    local url=$1 pid=${2:-} log=${3:-} seconds=${4:-${QSPP_READY_TIMEOUT:-60}} deadline reason
    deadline=$(($(date +%s) + seconds))
    until curl -fsS -m 2 "$url/ready" >/dev/null 2>&1; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            reason="the server (pid $pid) exited before $url/ready answered"
        elif [ "$(date +%s)" -ge "$deadline" ]; then
            reason="gave up after $seconds s waiting for $url/ready"
        else
            sleep 0.05
            continue
        fi
        echo "$reason" >&2
        if [ -n "$log" ] && [ -f "$log" ]; then
            echo "last lines of $log:" >&2
            tail -n 20 "$log" >&2
        fi
        exit 1
    done
}
