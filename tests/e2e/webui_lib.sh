# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# tests/e2e/webui_lib.sh - the model cluster the web UI tests look at
# (sourced after lib.sh): a shop of three pods and a scanner, an outside API
# host, its policies (tests/e2e/data/shop-policies/), known traffic, and a loop that
# keeps it going while a browser watches.
#
#   shop/frontend  10.1.0.10  app=frontend  -> cart:8080 allowed
#   shop/cart      10.1.0.20  app=cart      -> payments:8080 allowed
#   shop/payments  10.1.0.30  app=payments  -> api (192.0.2.10):443 allowed
#   ops/scanner    10.2.0.10  app=scanner   -> cart:8080 denied (default deny)
#   frontend -> payments:8080 denied, cart -> api:443 denied

WEBUI_PORT=9963
WEBUI_URL=http://127.0.0.1:$WEBUI_PORT
WEBUI_ASSETS=$abs_top_srcdir/modules/webui/dist

# webui_start_daemon [OPTION...] : bulwarkd with the page from the source
# tree (the build tree has no installed assets).
webui_start_daemon() {
	bw_start_daemon -o "webui.assets=$WEBUI_ASSETS" "$@"
}

# webui_once : every allowed and denied connection of the cluster, once.
webui_once() {
	bw_probe_tcp shop/frontend shop/cart 8080
	bw_probe_tcp shop/cart shop/payments 8080
	bw_probe_tcp shop/payments api 443
	bw_probe_tcp shop/frontend shop/payments 8080
	bw_probe_tcp ops/scanner shop/cart 8080
	bw_probe_tcp shop/cart api 443
	return 0
}

webui_map_has_all() {
	local m
	m=$(bw map -o json 2>/dev/null) || return 1
	printf '%s' "$m" | jq -e '
		def e($s; $d; $v): any(.edges[]; .source == $s and .destination == $d and
			(if $v == "forwarded" then .forwarded > 0 else .dropped > 0 end));
		e("shop/frontend"; "shop/cart"; "forwarded") and e("shop/cart"; "shop/payments"; "forwarded") and
		e("shop/payments"; "cidr:192.0.2.10/32"; "forwarded") and e("shop/frontend"; "shop/payments"; "dropped") and
		e("ops/scanner"; "shop/cart"; "dropped") and e("shop/cart"; "cidr:192.0.2.10/32"; "dropped")' >/dev/null
}

# webui_cluster : build it, apply the policies, make the traffic once and
# wait until the service map has every edge.
webui_cluster() {
	local f
	bw namespace set shop >/dev/null || bw_die "namespace set shop"
	bw namespace set ops >/dev/null || bw_die "namespace set ops"
	bw_pod_add shop frontend 10.1.0.10 app=frontend >/dev/null || bw_die "endpoint add shop/frontend"
	bw_pod_add shop cart 10.1.0.20 app=cart >/dev/null || bw_die "endpoint add shop/cart"
	bw_pod_add shop payments 10.1.0.30 app=payments >/dev/null || bw_die "endpoint add shop/payments"
	bw_pod_add ops scanner 10.2.0.10 app=scanner >/dev/null || bw_die "endpoint add ops/scanner"
	bw_external_add api 192.0.2.10
	bw_server_tcp shop/cart 8080
	bw_server_tcp shop/payments 8080
	bw_server_tcp api 443
	for f in "$abs_top_srcdir"/tests/e2e/data/shop-policies/*.yaml; do
		bw policy import "$f" >/dev/null || bw_die "policy import $f"
	done
	webui_once
	bw_wait_for 20 webui_map_has_all || bw_die "the service map never showed the cluster's six edges"
}

# webui_traffic_start : the cluster's traffic every second, until the test
# ends (the loop is one of the test's processes, ended by bw_cleanup).
webui_traffic_start() {
	(
		trap 'exit 0' TERM
		while :; do
			webui_once
			sleep 1
		done
	) >/dev/null 2>&1 &
	BW_PIDS+=($!)
}

# webui_curl ARGS... : curl in the node's namespace (where the listener is).
webui_curl() {
	bw_nsx "$BW_NODE" curl -sS --max-time 10 "$@"
}

# webui_tls_material DIR : a self-signed certificate for 10.0.0.1 and a
# token file (mode 0600) in DIR; prints the token.
webui_tls_material() {
	local d=$1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/webui.key" \
		-out "$d/webui.crt" -days 2 -subj "/CN=node.example" \
		-addext "subjectAltName=IP:$BW_NODE_IP4" >/dev/null 2>&1 ||
		bw_die "openssl could not make a certificate"
	openssl rand -hex 24 >"$d/webui.token"
	chmod 600 "$d/webui.token" "$d/webui.key"
	cat "$d/webui.token"
}
