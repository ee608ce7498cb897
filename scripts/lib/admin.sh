# Creates an administrator with the CLI and prints an access token from a real login. Source this file.
# qspp_admin_token BINARY PORT: uses the QSPP_* environment the server was started with.
qspp_admin_token() {
    local binary=$1 port=$2 email password
    email="admin-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')@qspp.test"
    password="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    QSPP_ADMIN_PASSWORD="$password" QSPP_LOG_LEVEL=error "$binary" users create-admin --email "$email" >/dev/null
    curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])'
}
