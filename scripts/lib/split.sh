# The split topology on loopback: the consent, auth and valuation roles and the gateway in front of
# them, each a `qspp serve --role` process, as scripts/check/split.sh and scripts/bench/bench-split.sh run it.
# Source this file; set the shared QSPP_* environment first (qspp_replica_env).

# qspp_split_start BINARY DIR GATEWAY_PORT: starts the three upstream roles, then the gateway; sets
# split_pids (gateway last), split_roles and split_ports alike, and returns once all four are ready.
qspp_split_start() {
    local binary=$1 dir=$2 gateway_port=$3 role port i=0
    split_roles=(consent auth valuation gateway)
    split_pids=()
    split_ports=()
    for role in consent auth valuation; do
        split_ports+=("$(qspp_free_port $((19700 + i * 20)))")
        i=$((i + 1))
    done
    split_ports+=("$gateway_port")
    for i in 0 1 2; do qspp_split_start_role "$binary" "$dir" "$i"; done
    export QSPP_UPSTREAM_CONSENT="http://127.0.0.1:${split_ports[0]}" \
        QSPP_UPSTREAM_AUTH="http://127.0.0.1:${split_ports[1]}" \
        QSPP_UPSTREAM_VALUATION="http://127.0.0.1:${split_ports[2]}"
    qspp_split_start_role "$binary" "$dir" 3
}

# qspp_split_start_role BINARY DIR INDEX: (re)starts one role of split_roles and waits until it is ready.
qspp_split_start_role() {
    local binary=$1 dir=$2 i=$3
    QSPP_PORT="${split_ports[$i]}" "$binary" serve --role "${split_roles[$i]}" >>"$dir/${split_roles[$i]}.log" 2>&1 &
    split_pids[$i]=$!
    qspp_wait_ready "http://127.0.0.1:${split_ports[$i]}" "${split_pids[$i]}" "$dir/${split_roles[$i]}.log"
}
