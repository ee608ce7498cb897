# Replicas of one qspp binary on one PostgreSQL behind Debian's nginx, as scripts/check/cluster.sh and
# scripts/bench/bench-scale.sh run them. Source this file.

# qspp_replica_env BINARY DATABASE_URL PUBLIC_URL: exports what every replica must share, with the
# limits out of the way of a load generator on one address, and migrates the database once.
qspp_replica_env() {
    local binary=$1 database_url=$2 public_url=$3
    # Every replica must name the same issuer, the public address: the default is each one's own.
    export QSPP_TOKEN_ISSUER="$public_url" QSPP_DATABASE_URL="$database_url" \
        QSPP_MASTER_KEY="$("$binary" keys new-master-key)" QSPP_LOG_LEVEL=warning QSPP_TRUSTED_PROXIES=127.0.0.1/32 \
        QSPP_LOGIN_RATE_LIMIT=100000000 QSPP_REGISTER_RATE_LIMIT=100000000 QSPP_MFA_RATE_LIMIT=100000000 QSPP_RATE_LIMIT_GLOBAL=100000000 \
        QSPP_RATE_LIMIT_CONSENT=100000000 QSPP_RATE_LIMIT_COSTLY=100000000 QSPP_MIGRATE_ON_START=false
    "$binary" migrate >/dev/null
}

# qspp_nginx_start DIR LISTEN_PORT REPLICA_PORT...: nginx with the deployment's server block
# (deploy/nginx/qspp.conf) balancing the given loopback replicas; sets nginx_pid and returns once
# /ready answers through it. Stop it with TERM: its master then stops the workers, which SIGKILL
# would orphan, holding the caller's stdout open.
qspp_nginx_start() {
    local dir=$1 listen=$2 servers="" port
    shift 2
    for port in "$@"; do servers+="\n    server 127.0.0.1:$port max_fails=3 fail_timeout=2s;"; done
    mkdir -p "$dir/logs" "$dir/tmp"
    {
        [ "$(id -u)" -eq 0 ] && echo "user root;"
        echo "pid $dir/nginx.pid; error_log $dir/logs/error.log warn; worker_processes auto;"
        echo "events { worker_connections 4096; }"
        echo "http { access_log off; client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;"
        sed -e "/server qspp-[0-9]/d" -e "s/listen 8080;/listen 127.0.0.1:$listen;/" \
            -e "s|upstream qspp {|upstream qspp {$servers|" deploy/nginx/qspp.conf
        echo "}"
    } >"$dir/nginx.conf"
    /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
    nginx_pid=$!
    qspp_wait_ready "http://127.0.0.1:$listen" "$nginx_pid" "$dir/logs/error.log"
}
