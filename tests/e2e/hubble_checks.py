# SPDX-License-Identifier: BSD-2-Clause
"""
tests/e2e/hubble_checks.py - the checks of tests/e2e/test_hubble.sh, run by
it (in the node's network namespace) once the topology has flows.

A real gRPC client (python3-grpcio, stubs generated from the module's own
.proto files by tests/e2e/hubble_client.py) calls every RPC of the
hubble-observer module over its Unix socket, plain TCP on loopback and TLS
off loopback, and compares what it gets with what `bulwark observe -o json`
and GET /v1/flows give for the same flows. A raw HTTP/2 client
(python3-h2) plays the client that stops reading.

Prints "PASS: ..." / "FAIL: ..." lines (counted by the shell test).
Environment: HUBBLE_STUBS, BULWARK, BW_SOCK, HUBBLE_UNIX, HUBBLE_TCP,
HUBBLE_TLS, HUBBLE_TLS_CA, HUBBLE_TLS_NAME, NS_B, NS_C, IP_A (x/a's
address, TCP 80 open), TRAFFIC_PORT, IP_W (x/w's address: nginx behind an
HTTP rule, with L7 flows already recorded), METRICS_URL (the prometheus
module's /metrics).
"""
import json
import os
import re
import urllib.parse
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.environ["HUBBLE_STUBS"])
import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402
from observer import observer_pb2, observer_pb2_grpc  # noqa: E402
from flow import flow_pb2  # noqa: E402,F401
from bulwark import extensions_pb2  # noqa: E402
from hchk import health_pb2, health_pb2_grpc  # noqa: E402

E = os.environ
FAILED = 0


def ok(msg):
    print("PASS: " + msg, flush=True)


def bad(msg, detail=None):
    global FAILED
    FAILED += 1
    print("FAIL: " + msg, flush=True)
    if detail is not None:
        for line in str(detail).splitlines()[:30]:
            print("#   | " + line[:400], flush=True)


def check(cond, msg, detail=None):
    (ok if cond else lambda m: bad(m, detail))(msg)
    return cond


def js(m):
    return json.loads(json_format.MessageToJson(m, preserving_proto_field_name=True))


def channel(kind):
    if kind == "unix":
        return grpc.insecure_channel(E["HUBBLE_UNIX"])
    if kind == "tcp":
        return grpc.insecure_channel(E["HUBBLE_TCP"])
    creds = grpc.ssl_channel_credentials(root_certificates=open(E["HUBBLE_TLS_CA"], "rb").read())
    return grpc.secure_channel(E["HUBBLE_TLS"], creds,
                               options=[("grpc.ssl_target_name_override", E["HUBBLE_TLS_NAME"])])


def get_flows(stub, req=None, ext=False, timeout=20):
    """Every response of a non-follow GetFlows, as JSON dicts."""
    r = req if req is not None else observer_pb2.GetFlowsRequest()
    if isinstance(r, dict):
        r = dict(r)
        # FieldMask's JSON form camel-cases paths: set proto names as they are
        mask = r.pop("field_mask", None)
        r = json_format.ParseDict(r, observer_pb2.GetFlowsRequest())
        if mask is not None:
            r.field_mask.paths.extend(mask.split(","))
    if ext:
        r.extensions.Pack(extensions_pb2.GetFlowsExtensions(flow_extensions=True),
                          type_url_prefix="bulwark.io/")
    return [js(x) for x in stub.GetFlows(r, timeout=timeout)]


def ts_ns(t):
    """An RFC 3339 time of protobuf's JSON (0, 3, 6 or 9 digits) in ns."""
    import calendar
    base, _, frac = t.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000000000 + int((frac + "000000000")[:9])


def flows_only(resps):
    return [x for x in resps if "flow" in x]


def uuids(resps):
    return [x["flow"]["uuid"] for x in resps if "flow" in x]


def observe_json(*args):
    out = subprocess.run([E["BULWARK"], "-s", E["BW_SOCK"], "observe", "-o", "json"] + list(args),
                         capture_output=True, text=True, timeout=30)
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def api_flows(whitelist=None, blacklist=None):
    """GET /v1/flows through the control socket (NDJSON)."""
    import urllib.parse
    q = {}
    if whitelist is not None:
        q["whitelist"] = json.dumps(whitelist)
    if blacklist is not None:
        q["blacklist"] = json.dumps(blacklist)
    path = "/v1/flows?" + urllib.parse.urlencode(q)
    out = subprocess.run(["curl", "-s", "--unix-socket", E["BW_SOCK"], "http://x" + path],
                         capture_output=True, text=True, timeout=30)
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def api_query(whitelist=None, blacklist=None):
    """GET /v1/flows: (HTTP status, [responses] or the error text)."""
    q = {}
    if whitelist is not None:
        q["whitelist"] = json.dumps(whitelist)
    if blacklist is not None:
        q["blacklist"] = json.dumps(blacklist)
    out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", E["BW_SOCK"],
                          "http://x/v1/flows?" + urllib.parse.urlencode(q)],
                         capture_output=True, text=True, timeout=30)
    body, _, code = out.stdout.rpartition("\n")
    if code != "200":
        try:
            return int(code), json.loads(body).get("error", body)
        except ValueError:
            return int(code or 0), body
    return 200, [json.loads(l) for l in body.splitlines() if l.strip()]


def traffic(n=1, ns="NS_B"):
    for _ in range(n):
        subprocess.run(["ip", "netns", "exec", E[ns], "socat", "-T", "1", "-",
                        "TCP4:%s:%s,connect-timeout=1" % (E["IP_A"], E["TRAFFIC_PORT"])],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=10)


def module_status(name="hubble"):
    out = subprocess.run(["curl", "-s", "--unix-socket", E["BW_SOCK"],
                          "http://x/v1/%s/status" % name], capture_output=True, text=True)
    return json.loads(out.stdout)


def wait_for(fn, secs=10):
    end = time.time() + secs
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.1)


# ---- the unary RPCs --------------------------------------------------------------

def check_unary(kind):
    ch = channel(kind)
    obs = observer_pb2_grpc.ObserverStub(ch)
    h = health_pb2_grpc.HealthStub(ch)
    r = h.Check(health_pb2.HealthCheckRequest(service="hubble.server.Observer"), timeout=10)
    check(r.status == health_pb2.HealthCheckResponse.SERVING,
          "%s: Health/Check hubble.server.Observer is SERVING (what `hubble status` asks)" % kind)
    if kind != "unix":
        return ch
    try:
        h.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
        bad("Health/Check of an unknown service fails")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.NOT_FOUND, "Health/Check of an unknown service: NOT_FOUND",
              e.code())
    it = h.Watch(health_pb2.HealthCheckRequest(service=""))
    check(next(it).status == health_pb2.HealthCheckResponse.SERVING, "Health/Watch says SERVING")
    it.cancel()

    st = js(obs.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10))
    status = json.loads(subprocess.run([E["BULWARK"], "-s", E["BW_SOCK"], "status", "-o", "json"],
                                       capture_output=True, text=True).stdout)
    fl = status["flows"]
    check(int(st.get("max_flows", 0)) == fl["capacity"] and
          int(st.get("num_flows", 0)) == fl["stored"] and
          int(st.get("seen_flows", 0)) >= fl["stored"] > 0 and
          int(st.get("uptime_ns", 0)) > 0 and st.get("version") == status["version"],
          "ServerStatus: num_flows, max_flows, seen_flows, uptime_ns, version as bulwark status says",
          json.dumps([st, fl]))

    nodes = js(obs.GetNodes(observer_pb2.GetNodesRequest(), timeout=10)).get("nodes", [])
    one = get_flows(obs, {"number": 1})
    node_name = one[0]["node_name"] if one else None
    check(len(nodes) == 1 and nodes[0]["name"] == node_name and
          nodes[0]["state"] == "NODE_CONNECTED" and int(nodes[0]["max_flows"]) == fl["capacity"],
          "GetNodes: this node, connected, with its flow counts", json.dumps(nodes))

    ns = js(obs.GetNamespaces(observer_pb2.GetNamespacesRequest(), timeout=10)).get("namespaces", [])
    names = [n["namespace"] for n in ns]
    check(names == sorted(names) and "x" in names and "y" in names and
          all(n.get("cluster") == "default" for n in ns),
          "GetNamespaces: x and y, sorted, cluster default", json.dumps(ns))

    ev = [js(x) for x in obs.GetAgentEvents(observer_pb2.GetAgentEventsRequest(), timeout=10)]
    check(len(ev) == 1 and ev[0]["agent_event"]["type"] == "AGENT_STARTED" and
          ev[0]["node_name"] == node_name,
          "GetAgentEvents: AGENT_STARTED, then the stream ends", json.dumps(ev))
    dv = list(obs.GetDebugEvents(observer_pb2.GetDebugEventsRequest(), timeout=10))
    check(dv == [], "GetDebugEvents: an empty stream that ends OK")
    try:
        list(obs.GetFlows(observer_pb2.GetFlowsRequest(first=True, follow=True), timeout=10))
        bad("first with follow is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "first with follow: INVALID_ARGUMENT")
    raw = ch.unary_unary("/observer.Observer/NoSuchMethod", request_serializer=None,
                         response_deserializer=None)
    try:
        raw(b"", timeout=10)
        bad("an unknown method fails")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.UNIMPLEMENTED, "an unknown method: UNIMPLEMENTED")
    return ch


# ---- one flow model, two encodings -------------------------------------------------

def diff(a, b, path=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s only in GetFlows: %r" % (path, k, b[k]))
            elif k not in b:
                out.append("%s.%s only in observe: %r" % (path, k, a[k]))
            else:
                out += diff(a[k], b[k], path + "." + k)
    elif a != b:
        out.append("%s: observe %r, GetFlows %r" % (path, a, b))
    return out


def check_same_flows(stub, kind):
    obs_lines = [x for x in observe_json("--all") if "flow" in x]
    resp = flows_only(get_flows(stub, ext=True))
    by = {x["flow"]["uuid"]: x for x in resp}
    problems = []
    for o in obs_lines:
        g = by.get(o["flow"]["uuid"])
        if g is None:
            problems.append("flow %s missing from GetFlows" % o["flow"]["uuid"])
            continue
        problems += diff(o, g)
    check(len(obs_lines) > 0 and len(resp) == len(obs_lines) and not problems,
          "%s: GetFlows (with extensions) and `bulwark observe -o json` agree field for field "
          "(%d flows)" % (kind, len(obs_lines)), "\n".join(problems[:20]))
    kinds = set()
    for o in obs_lines:
        f = o["flow"]
        kinds.add(f.get("verdict"))
        if "extensions" in f:
            kinds.add("extensions")
        if "ingress_denied_by" in f or "ingress_allowed_by" in f:
            kinds.add("policy")
        l7 = f.get("l7", {})
        for proto in ("http", "dns", "kafka"):
            if proto in l7:
                kinds.add("l7.%s %s" % (proto, l7.get("type")))
                if "latency_ns" in l7:
                    kinds.add("l7.%s latency" % proto)
                if f.get("verdict") == "DROPPED":
                    kinds.add("l7.%s DROPPED" % proto)
        if "destination_names" in f or "source_names" in f:
            kinds.add("names")
    want = {"FORWARDED", "DROPPED", "extensions", "policy", "l7.http REQUEST",
            "l7.http RESPONSE", "l7.http latency", "l7.http DROPPED"}
    what = "L7 HTTP"
    if E.get("HAVE_DNS") == "1":
        want |= {"l7.dns REQUEST", "l7.dns RESPONSE", "l7.dns DROPPED", "names"}
        what += ", DNS (and destination_names)"
    if E.get("HAVE_KAFKA") == "1":
        want |= {"l7.kafka REQUEST", "l7.kafka DROPPED"}
        what += ", Kafka"
    check(want <= kinds,
          "%s: the compared flows include forwarded and dropped ones, policy names, extensions, "
          "and %s requests, responses with their latency, denied requests" % (kind, what),
          json.dumps({"missing": sorted(want - kinds), "seen": sorted(kinds)}))
    plain = flows_only(get_flows(stub))
    check(len(plain) == len(obs_lines) and not any("extensions" in x["flow"] for x in plain),
          "%s: without asking, GetFlows leaves bulwark's extensions out (hubble -o json cannot print an unknown Any)" % kind)
    strip = {x["flow"]["uuid"]: x for x in plain}
    same = all(dict(o, flow={k: v for k, v in o["flow"].items() if k != "extensions"}) ==
               strip.get(o["flow"]["uuid"]) for o in obs_lines)
    check(same, "%s: ... and is otherwise the same" % kind)
    masked = flows_only(get_flows(stub, {"field_mask": "extensions,uuid"}))
    check(len(masked) == len(obs_lines) and
          any("extensions" in x["flow"] for x in masked) and
          all(set(x["flow"]) <= {"uuid", "extensions"} for x in masked),
          "%s: a field mask naming extensions gets them (and only the masked fields)" % kind)


# ---- filters ------------------------------------------------------------------------

def filter_cases(all_flows):
    """(name, FlowFilter JSON, predicate on the Flow JSON)."""
    f0 = [x["flow"] for x in all_flows]
    uuid0 = f0[len(f0) // 2]["uuid"]
    itf = [f["interface"] for f in f0 if "interface" in f]
    ifname0 = itf[0]["name"] if itf else "none"
    ifindex0 = itf[-1]["index"] if itf else 1

    def http(f):
        return f.get("l7", {}).get("http", {})

    def port(f, side):
        l4 = f.get("l4", {})
        for p in ("TCP", "UDP", "SCTP"):
            if p in l4:
                return l4[p].get(side + "_port", 0)
        return None
    return [
        ("source_ip", {"source_ip": ["10.1.0.2"]}, lambda f: f.get("IP", {}).get("source") == "10.1.0.2"),
        ("destination_ip (CIDR)", {"destination_ip": ["10.1.0.0/24"]},
         lambda f: f.get("IP", {}).get("destination", "").startswith("10.1.0.")),
        ("source_pod", {"source_pod": ["x/b"]}, lambda f: f.get("source", {}).get("pod_name") == "b"),
        ("destination_pod (namespace/)", {"destination_pod": ["x/"]},
         lambda f: f.get("destination", {}).get("namespace") == "x"),
        ("source_label", {"source_label": ["app=other"]},
         lambda f: "k8s:app=other" in f.get("source", {}).get("labels", [])),
        ("destination_label (k8s: source)", {"destination_label": ["k8s:app=web"]},
         lambda f: "k8s:app=web" in f.get("destination", {}).get("labels", [])),
        ("source_identity (reserved name as number)", {"source_identity": [2]},
         lambda f: f.get("source", {}).get("identity") == 2),
        ("destination_identity", {"destination_identity": [2]},
         lambda f: f.get("destination", {}).get("identity") == 2),
        ("source_port", {"source_port": ["80"]}, lambda f: port(f, "source") == 80),
        ("destination_port", {"destination_port": ["80"]}, lambda f: port(f, "destination") == 80),
        ("source_workload", {"source_workload": [{"kind": "StatefulSet", "name": "store"}]},
         lambda f: any(w.get("name") == "store" for w in f.get("source", {}).get("workloads", []))),
        ("destination_workload (any kind)", {"destination_workload": [{"name": "store"}]},
         lambda f: any(w.get("name") == "store" for w in f.get("destination", {}).get("workloads", []))),
        ("verdict", {"verdict": ["DROPPED"]}, lambda f: f.get("verdict") == "DROPPED"),
        ("event_type", {"event_type": [{"type": 5}]},
         lambda f: f.get("event_type", {}).get("type") == 5),
        ("event_type with sub_type", {"event_type": [{"type": 4, "match_sub_type": True, "sub_type": 0}]},
         lambda f: f.get("event_type", {}).get("type") == 4 and f["event_type"].get("sub_type", 0) == 0),
        ("protocol", {"protocol": ["icmp"]}, lambda f: "ICMPv4" in f.get("l4", {}) or "ICMPv6" in f.get("l4", {})),
        ("traffic_direction", {"traffic_direction": ["EGRESS"]},
         lambda f: f.get("traffic_direction") == "EGRESS"),
        ("tcp_flags", {"tcp_flags": [{"SYN": True, "ACK": True}]},
         lambda f: f.get("l4", {}).get("TCP", {}).get("flags", {}).get("SYN") and
         f["l4"]["TCP"]["flags"].get("ACK")),
        ("drop_reason_desc", {"drop_reason_desc": ["POLICY_DENIED"]},
         lambda f: f.get("drop_reason_desc") == "POLICY_DENIED"),
        ("ip_version", {"ip_version": ["IPv6"]}, lambda f: f.get("IP", {}).get("ipVersion") == "IPv6"),
        ("reply", {"reply": [True]}, lambda f: f.get("is_reply") is True),
        ("node_name (glob)", {"node_name": [f0[0]["node_name"][:1] + "*"]}, lambda f: True),
        ("uuid", {"uuid": [uuid0]}, lambda f: f.get("uuid") == uuid0),
        ("http_status_code", {"http_status_code": ["200"]}, lambda f: http(f).get("code") == 200),
        ("http_status_code (prefix 4+: nginx's 404)", {"http_status_code": ["4+"]},
         lambda f: 400 <= http(f).get("code", 0) < 500),
        ("http_method", {"http_method": ["GET"]}, lambda f: http(f).get("method") == "GET"),
        ("http_path (regex on the URL's path)", {"http_path": ["^/public/a$"]},
         lambda f: "url" in http(f) and urllib.parse.urlparse(http(f)["url"]).path == "/public/a"),
        ("http_url (regex on the URL)", {"http_url": ["private"]}, lambda f: "private" in http(f).get("url", "")),
        ("http_header", {"http_header": [{"key": ":authority", "value": E["IP_W"]}]},
         lambda f: {"key": ":authority", "value": E["IP_W"]} in http(f).get("headers", [])),
        ("protocol http", {"protocol": ["http"]}, lambda f: "http" in f.get("l7", {})),
        ("event_type l7 with an HTTP field", {"event_type": [{"type": 129}], "http_method": ["GET"]},
         lambda f: f.get("event_type", {}).get("type") == 129 and http(f).get("method") == "GET"),
        ("interface (name)", {"interface": [{"name": ifname0}]},
         lambda f: f.get("interface", {}).get("name") == ifname0),
        ("interface (index)", {"interface": [{"index": ifindex0}]},
         lambda f: f.get("interface", {}).get("index") == ifindex0),
        ("encrypted false (bulwark encrypts nothing)", {"encrypted": [False]}, lambda f: True),
    ] + ([
        ("dns_query", {"dns_query": ["^api\\.example\\.$"]},
         lambda f: f.get("l7", {}).get("dns", {}).get("query") == "api.example."),
        ("protocol dns", {"protocol": ["dns"]}, lambda f: "dns" in f.get("l7", {})),
        ("destination_fqdn", {"destination_fqdn": ["api.example"]},
         lambda f: "api.example" in f.get("destination_names", [])),
        ("destination_fqdn (wildcard)", {"destination_fqdn": ["*.example"]},
         lambda f: any(n.endswith(".example") for n in f.get("destination_names", []))),
    ] if E.get("HAVE_DNS") == "1" else []) + ([
        ("protocol kafka", {"protocol": ["kafka"]}, lambda f: "kafka" in f.get("l7", {})),
    ] if E.get("HAVE_KAFKA") == "1" else [])


def check_filters(stub):
    everything = flows_only(get_flows(stub))
    all_ids = set(uuids(everything))
    for name, flt, pred in filter_cases(everything):
        got = flows_only(get_flows(stub, {"whitelist": [flt]}))
        api = uuids(api_flows(whitelist=[flt]))
        want = [x["flow"]["uuid"] for x in everything if pred(x["flow"])]
        check(len(got) > 0 and uuids(got) == want and uuids(got) == api,
              "FlowFilter %s: %d flows, the ones that match, as GET /v1/flows" % (name, len(got)),
              json.dumps({"got": len(got), "want": len(want), "api": len(api)}))
        neg = set(uuids(flows_only(get_flows(stub, {"blacklist": [flt]}))))
        check(neg == all_ids - set(want), "blacklist %s: every flow but those" % name)
    # OR of whitelist filters, AND inside one, blacklist on top
    w = [{"source_pod": ["x/b"], "destination_port": ["80"]}, {"verdict": ["DROPPED"]}]
    b = [{"traffic_direction": ["EGRESS"]}]
    got = uuids(flows_only(get_flows(stub, {"whitelist": w, "blacklist": b})))
    want = [x["flow"]["uuid"] for x in everything
            if ((x["flow"].get("source", {}).get("pod_name") == "b" and
                 x["flow"].get("l4", {}).get("TCP", {}).get("destination_port") == 80) or
                x["flow"].get("verdict") == "DROPPED") and
            x["flow"].get("traffic_direction") != "EGRESS"]
    check(len(got) > 0 and got == want and got == uuids(api_flows(whitelist=w, blacklist=b)),
          "whitelist [A AND B, C] minus blacklist [D]: hubble's semantics (%d flows)" % len(got))
    for flt, what in (({"source_service": ["x/web"]}, "a field bulwark cannot match (source_service)"),
                      ({"experimental": {"cel_expression": ["true"]}}, "a CEL expression"),
                      ({"source_ip": ["not-an-ip"]}, "a bad value")):
        try:
            get_flows(stub, {"whitelist": [flt]})
            bad("refused: " + what)
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "whitelist[0]" in e.details(),
                  "INVALID_ARGUMENT naming the filter: %s (%s)" % (what, e.details()))


# Every field of Hubble's FlowFilter, with a value that matches some of this
# test's flows. Fields bulwark's flows can never match (they carry nothing
# the field is about) are refused by name, by GetFlows as by GET /v1/flows.
FIELD_SAMPLES = {
    "uuid": None,  # the middle flow's, filled in below
    "source_ip": ["10.1.0.2"], "destination_ip": ["10.1.0.5"],
    "source_ip_xlated": ["10.1.0.2"],
    "source_pod": ["x/b"], "destination_pod": ["x/w"],
    "source_fqdn": ["*.example"], "destination_fqdn": ["*.example"],
    "source_label": ["app=client"], "destination_label": ["app=www"],
    "source_service": ["x/web"], "destination_service": ["x/web"],
    "source_workload": [{"name": "store"}], "destination_workload": [{"kind": "StatefulSet"}],
    "source_cluster_name": ["default"], "destination_cluster_name": ["default"],
    "traffic_direction": ["INGRESS"], "verdict": ["FORWARDED"],
    "drop_reason_desc": ["POLICY_DENIED"], "interface": None,
    "event_type": [{"type": 129}], "http_status_code": ["2+"], "protocol": ["http"],
    "source_port": ["80"], "destination_port": ["80"], "reply": [True],
    "dns_query": ["example"], "source_identity": [2], "destination_identity": [2],
    "http_method": ["GET"], "http_path": ["^/p"], "http_url": ["x=1"],
    "http_header": [{"key": ":authority", "value": E["IP_W"]}],
    "tcp_flags": [{"SYN": True}], "node_name": ["*"], "node_labels": ["kubernetes.io/os=linux"],
    "ip_version": ["IPv4"], "trace_id": ["4bf92f3577b34da6a3ce929d0e0e4736"], "ip_trace_id": ["1"],
    "encrypted": [False], "experimental": {"cel_expression": ["true"]},
}
# what bulwark refuses (lib/flowfilter.c says why)
REFUSED = {"source_ip_xlated", "source_service", "destination_service", "source_cluster_name",
           "destination_cluster_name", "node_labels", "trace_id", "ip_trace_id", "experimental"}


def check_every_filter_field(stub):
    everything = flows_only(get_flows(stub))
    f0 = [x["flow"] for x in everything]
    samples = dict(FIELD_SAMPLES)
    samples["uuid"] = [f0[len(f0) // 2]["uuid"]]
    itf = [f["interface"] for f in f0 if "interface" in f]
    samples["interface"] = [{"name": itf[0]["name"]}] if itf else [{"index": 1}]
    fields = [fd.name for fd in flow_pb2.FlowFilter.DESCRIPTOR.fields]
    check(sorted(fields) == sorted(samples),
          "the check covers every field of Hubble's FlowFilter (%d)" % len(fields),
          json.dumps({"not covered": sorted(set(fields) - set(samples)),
                      "not in the proto": sorted(set(samples) - set(fields))}))
    matched, refused, problems = [], [], []
    for name in fields:
        flt = {name: samples[name]}
        code, api = api_query(whitelist=[flt])
        try:
            got = uuids(flows_only(get_flows(stub, {"whitelist": [flt]})))
            gerr = None
        except grpc.RpcError as e:
            got, gerr = None, e
        if code == 200:
            if gerr is not None:
                problems.append("%s: GET /v1/flows matches, GetFlows refuses: %s" % (name, gerr.details()))
            elif got != uuids(api):
                problems.append("%s: GetFlows %d flows, GET /v1/flows %d" % (name, len(got), len(api)))
            else:
                matched.append("%s(%d)" % (name, len(got)))
        else:
            api_name = "experimental" if name == "experimental" else name
            if gerr is None:
                problems.append("%s: GET /v1/flows refuses (%s), GetFlows matches" % (name, api))
            elif (gerr.code() != grpc.StatusCode.INVALID_ARGUMENT or
                  name not in gerr.details() or api_name not in str(api)):
                problems.append("%s: refused, but not naming it: GetFlows %s %s; GET /v1/flows %s"
                                % (name, gerr.code(), gerr.details(), api))
            else:
                refused.append(name)
    check(not problems, "each of Hubble's FlowFilter fields: GetFlows matches the flows GET /v1/flows "
          "matches (%d: %s), or both refuse it naming it (%d: %s)"
          % (len(matched), " ".join(matched), len(refused), " ".join(refused)), "\n".join(problems))
    empty = [m for m in matched if m.endswith("(0)")]
    check(len(empty) <= 1, "... and all but at most one of them (source_fqdn: replies from named "
          "addresses) match some of this test's flows", empty)
    check(set(refused) == REFUSED,
          "refused are only the fields no bulwark flow can match (and CEL): %s" % " ".join(sorted(REFUSED)),
          sorted(refused))


def ff_ext_bytes(**fields):
    """A FlowFilter's bytes with bulwark's FlowFilterExtensions fields appended."""
    hubble = fields.pop("hubble", {})
    base = json_format.ParseDict(hubble, flow_pb2.FlowFilter()).SerializeToString()
    return base + extensions_pb2.FlowFilterExtensions(**fields).SerializeToString()


def raw_get_flows(req_bytes):
    raw = grpc.insecure_channel(E["HUBBLE_UNIX"]).unary_stream(
        "/observer.Observer/GetFlows", request_serializer=None, response_deserializer=None)
    return [js(observer_pb2.GetFlowsResponse.FromString(b)) for b in raw(req_bytes, timeout=10)]


def whitelist_req(*filters):
    # GetFlowsRequest.whitelist is field 5: length-delimited FlowFilter bytes
    out = b""
    for fb in filters:
        req = observer_pb2.GetFlowsRequest()
        req.whitelist.add().ParseFromString(fb)  # keeps the unknown fields
        out += req.SerializeToString()
    return out


def check_filter_extensions(stub):
    # bulwark's own filter fields ride in the FlowFilter (FlowFilterExtensions)
    ext_fields = [fd.name for fd in extensions_pb2.FlowFilterExtensions.DESCRIPTOR.fields]
    absent = {"kafka_topic": ["no-such-topic"], "kafka_api_key": ["deleteacls"]}
    check(sorted(absent) == sorted(ext_fields), "the check knows every FlowFilterExtensions field",
          ext_fields)
    for name in ext_fields:
        code, api = api_query(whitelist=[{name: absent.get(name, ["x"])}])
        fb = ff_ext_bytes(**{name: absent.get(name, ["x"])})
        if code != 200:
            try:
                raw_get_flows(whitelist_req(fb))
                bad("FlowFilterExtensions.%s: GET /v1/flows refuses it (%s), GetFlows too" % (name, api))
            except grpc.RpcError as e:
                check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and name in e.details(),
                      "FlowFilterExtensions.%s: not in this build's lib/flowfilter.c, refused by both "
                      "naming it (%s)" % (name, e.details()))
            continue
        got = raw_get_flows(whitelist_req(fb))
        check(got == [] and api == [], "FlowFilterExtensions.%s: a value no flow has, no flows (as GET /v1/flows)"
              % name)
    if E.get("HAVE_KAFKA") == "1":
        everything = flows_only(get_flows(stub))
        for hubble, ext, what, pred in (
                ({}, {"kafka_topic": ["orders"]}, "kafka_topic orders",
                 lambda f: f.get("l7", {}).get("kafka", {}).get("topic") == "orders"),
                ({"verdict": ["DROPPED"]}, {"kafka_topic": ["secret"]},
                 "verdict DROPPED AND kafka_topic secret",
                 lambda f: f.get("verdict") == "DROPPED" and
                 f.get("l7", {}).get("kafka", {}).get("topic") == "secret"),
                ({"source_pod": ["x/b"]}, {"kafka_topic": ["orders"], "kafka_api_key": ["produce"]},
                 "source_pod x/b AND kafka_topic orders AND kafka_api_key produce",
                 lambda f: f.get("source", {}).get("pod_name") == "b" and
                 f.get("l7", {}).get("kafka", {}).get("topic") == "orders" and
                 f["l7"]["kafka"].get("api_key") == "produce")):
            got = uuids(flows_only(raw_get_flows(whitelist_req(ff_ext_bytes(hubble=hubble, **ext)))))
            code, api = api_query(whitelist=[dict(hubble, **ext)])
            want = [x["flow"]["uuid"] for x in everything if pred(x["flow"])]
            check(code == 200 and len(got) > 0 and got == want and got == uuids(api),
                  "FlowFilterExtensions in a FlowFilter: %s, %d flows, as GET /v1/flows" % (what, len(got)),
                  json.dumps({"got": len(got), "want": len(want), "api": api if code != 200 else len(api)}))
    # an unknown field number in a FlowFilter is refused, not ignored
    fb = json_format.ParseDict({"source_pod": ["x/b"]}, flow_pb2.FlowFilter()).SerializeToString()
    fb += b"\xc8\x3e\x01"  # field 1001, varint 1
    try:
        raw_get_flows(whitelist_req(fb))
        bad("a FlowFilter field number bulwark does not know is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "1001" in e.details(),
              "a FlowFilter field number bulwark does not know: INVALID_ARGUMENT naming it (%s)" % e.details())


def metric(name, **labels):
    """The value of one sample of the prometheus module's /metrics, or None."""
    out = subprocess.run(["curl", "-s", E["METRICS_URL"]], capture_output=True, text=True, timeout=30)
    want = ",".join('%s="%s"' % kv for kv in sorted(dict(instance="hubble-observer", **labels).items()))
    for line in out.stdout.splitlines():
        m = re.match(r'^%s\{([^}]*)\} (\S+)$' % re.escape(name), line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    return None


def check_metrics():
    st = module_status()
    for proto in ["http", "dns"] + (["kafka"] if E.get("HAVE_KAFKA") == "1" else []):
        l7 = metric("bulwark_hubble_l7_flows_sent_total", protocol=proto)
        check(l7 is not None and l7 > 0 and l7 == st["flows"]["l7_sent"][proto] and
              l7 <= metric("bulwark_hubble_flows_sent_total"),
              "bulwark_hubble_l7_flows_sent_total{protocol=%s}: the L7 flows sent (%s), as status says"
              % (proto, l7), json.dumps(st["flows"]))
    for field in ("http_status_code", "destination_fqdn", "dns_query"):
        used = metric("bulwark_hubble_filter_fields_total", field=field)
        check(used is not None and used >= 2 and used == st["filters"]["used"][field],
              "bulwark_hubble_filter_fields_total{field=%s}: filters that used it (%s)" % (field, used))
    problems = []
    for field in ("source_service", "experimental", "unknown_field_number", "source_ip", "node_labels"):
        v = metric("bulwark_hubble_filter_refused_total", field=field)
        if not v or v != st["filters"]["refused"].get(field):
            problems.append("%s: %s (status %s)" % (field, v, st["filters"]["refused"].get(field)))
    check(not problems, "bulwark_hubble_filter_refused_total by field: a field bulwark cannot match, CEL, "
          "an unknown field number, a bad value", "\n".join(problems))
    check(metric("bulwark_hubble_filter_refused_total", field="source_pod") is None,
          "... and not the fields that only shared a refused request's filter list")


# ---- number, first, since, until, field masks ----------------------------------------

def check_window(stub):
    allf = flows_only(get_flows(stub))
    ids = uuids(allf)
    n = len(ids)
    check(uuids(flows_only(get_flows(stub, {"number": 3}))) == ids[-3:],
          "number 3: the newest three, oldest first")
    check(uuids(flows_only(get_flows(stub, {"number": 3, "first": True}))) == ids[:3],
          "number 3, first: the oldest three")
    check(len(flows_only(get_flows(stub, {"number": 2 * n + 5}))) == n,
          "number larger than the ring: every flow")
    drops = [x["flow"]["uuid"] for x in allf if x["flow"].get("verdict") == "DROPPED"]
    check(uuids(flows_only(get_flows(stub, {"number": 1, "whitelist": [{"verdict": ["DROPPED"]}]}))) == drops[-1:],
          "number counts matching flows: the newest drop")
    # Hubble's reader (pkg/hubble/observer) goes through the ring in its
    # order, skips flows before since and ends at the first flow after
    # until. The ring is not strictly in time order (an L7 flow from the
    # proxy can be stored just after datapath flows stamped later).
    def window(t1, t2):
        out = []
        for x in allf:
            t = ts_ns(x["flow"]["time"])
            if t2 is not None and t > ts_ns(t2):
                break
            if t1 is None or t >= ts_ns(t1):
                out.append(x["flow"]["uuid"])
        return out
    k = n // 2
    tk = allf[k]["flow"]["time"]
    since = uuids(flows_only(get_flows(stub, {"since": tk})))
    until = uuids(flows_only(get_flows(stub, {"until": tk})))
    check(since == window(tk, None) and len(since) > 0, "since: the flows at or after the time (%d)" % len(since))
    check(until == window(None, tk) and len(until) > 0,
          "until: the flows up to the first one past the time (%d)" % len(until))
    t1, t2 = allf[n // 4]["flow"]["time"], allf[3 * n // 4]["flow"]["time"]
    both = uuids(flows_only(get_flows(stub, {"since": t1, "until": t2})))
    check(both == window(t1, t2) and len(both) > 0, "since and until: the window between")
    # field masks
    m = flows_only(get_flows(stub, {"number": 5, "field_mask": "time,verdict,source.pod_name,l4.TCP.destination_port"}))
    okm = all(set(x["flow"]) <= {"time", "verdict", "source", "l4"} and
              set(x["flow"].get("source", {})) <= {"pod_name"} and
              all(set(v) <= {"destination_port"} for v in x["flow"].get("l4", {}).values())
              for x in m) and len(m) == 5 and "time" in m[0] and "node_name" in m[0]
    check(okm, "field_mask: only the named fields (source.pod_name, l4.TCP.destination_port, ...)",
          json.dumps(m[:2]))
    hubble_default = ("time,verdict,ethernet,IP,l4,source.identity,source.namespace,source.pod_name,"
                      "destination.identity,destination.namespace,destination.pod_name,Type,node_name,"
                      "l7,event_type,source_service,destination_service,is_reply,Summary,ip_trace_id")
    d = flows_only(get_flows(stub, {"number": 5, "field_mask": hubble_default}))
    check(len(d) == 5 and all("uuid" not in x["flow"] and "Summary" in x["flow"] for x in d),
          "field_mask: the hubble CLI's default mask for compact output is accepted")
    # experimental.field_mask (field 1 of GetFlowsRequest.Experimental), as
    # hubble before 1.16 sends it: not in this proto, so built by hand
    fm = field_mask_pb2.FieldMask(paths=["uuid"]).SerializeToString()
    inner = b"\x0a" + bytes([len(fm)]) + fm
    req = observer_pb2.GetFlowsRequest(number=2).SerializeToString()
    req += b"\xba\x3e" + bytes([len(inner)]) + inner  # field 999, length-delimited
    raw = grpc.insecure_channel(E["HUBBLE_UNIX"]).unary_stream(
        "/observer.Observer/GetFlows", request_serializer=None, response_deserializer=None)
    old = [js(observer_pb2.GetFlowsResponse.FromString(b)) for b in raw(req, timeout=10)]
    check(len(old) == 2 and all(set(x["flow"]) == {"uuid"} for x in old),
          "experimental.field_mask of older clients is honoured", json.dumps(old))
    try:
        get_flows(stub, {"field_mask": "sorce.pod_name"})
        bad("a field mask naming no field is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "sorce" in e.details(),
              "a field mask naming no field: INVALID_ARGUMENT (%s)" % e.details())


# ---- follow, cancel, deadline, many followers ----------------------------------------

def follower(stub, req, out, stop_after=None, started=None):
    it = stub.GetFlows(json_format.ParseDict(req, observer_pb2.GetFlowsRequest()))
    out["it"] = it
    out["resps"] = []
    out["code"] = None
    if started:
        started.set()
    try:
        for r in it:
            out["resps"].append(js(r))
            if stop_after and len(out["resps"]) >= stop_after:
                it.cancel()
    except grpc.RpcError as e:
        out["code"] = e.code().name


def check_follow(stub):
    before = uuids(flows_only(get_flows(stub)))
    out, started = {}, threading.Event()
    flt = {"source_pod": ["x/b"], "destination_port": [E["TRAFFIC_PORT"]]}
    t = threading.Thread(target=follower, args=(stub, {"follow": True, "whitelist": [flt]}, out, None, started))
    t.start()
    started.wait()
    wait_for(lambda: module_status()["flows"]["followers"] >= 1)
    traffic(2)
    got = wait_for(lambda: len(out["resps"]) >= 2, 15)
    new = uuids(out["resps"])
    check(got and not (set(new) & set(before)) and
          all(x["flow"]["source"]["pod_name"] == "b" for x in out["resps"]),
          "follow: only new flows, as they arrive, filtered (%d)" % len(new))
    out["it"].cancel()
    t.join(10)
    check(out["code"] == "CANCELLED", "a follower the client cancels ends CANCELLED")
    check(wait_for(lambda: module_status()["flows"]["followers"] == 0),
          "the server drops the cancelled follower")
    # number with follow: the last 2, then new ones
    before = uuids(flows_only(get_flows(stub)))
    out2 = {}
    t = threading.Thread(target=follower, args=(stub, {"follow": True, "number": 2}, out2))
    t.start()
    wait_for(lambda: len(out2.get("resps", [])) >= 2)
    first2 = uuids(out2["resps"][:2])
    traffic(1)
    wait_for(lambda: len(out2["resps"]) > 2, 15)
    out2["it"].cancel()
    t.join(10)
    allnow = uuids(flows_only(get_flows(stub)))
    got = uuids(out2["resps"])
    # (robust to flows landing while the call starts: the two it began
    # with were the newest then, and everything after them follows in order)
    i = allnow.index(got[0]) if got and got[0] in allnow else -1
    check(i >= 0 and got == allnow[i:i + len(got)] and len(got) > 2 and
          (i + 2 >= len(before) or before[-2:] == got[:2] or got[0] not in before[:-2]) and
          set(got[2:]) <= set(allnow) - set(before[:-2]),
          "follow with number 2: the newest two of the history, then new flows in order",
          json.dumps({"got": got, "before": before[-3:]}))
    # a stream cancelled mid-way through a long history
    out3 = {}
    follower(stub, {}, out3, stop_after=3)
    check(len(out3["resps"]) == 3 and out3["code"] == "CANCELLED",
          "a GetFlows stream cancelled after 3 of %d flows ends CANCELLED" % len(allnow))
    check(wait_for(lambda: module_status()["streams"]["open"] == 0 and
                   module_status()["flows"]["followers"] == 0),
          "... and leaves no call behind", json.dumps(module_status()))
    # deadline
    t0 = module_status()["streams"]["deadline_exceeded"]
    try:
        list(stub.GetFlows(observer_pb2.GetFlowsRequest(follow=True), timeout=1))
        bad("a follower with a 1 s deadline ends")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "a follower's deadline: DEADLINE_EXCEEDED")
    check(wait_for(lambda: module_status()["streams"]["deadline_exceeded"] > t0 or
                   module_status()["streams"]["open"] == 0),
          "the server ends the call at its deadline (grpc-timeout)")
    # until while following ends the stream
    until = time.time() + 1.5
    req = observer_pb2.GetFlowsRequest(follow=True)
    req.until.FromNanoseconds(int(until * 1e9))
    try:
        list(stub.GetFlows(req, timeout=15))
        ok("follow with until: the stream ends by itself after until")
    except grpc.RpcError as e:
        bad("follow with until ends OK", e.code())


def check_many_followers(n=50):
    chans = [grpc.insecure_channel(E["HUBBLE_UNIX"]) for _ in range(5)]
    stubs = [observer_pb2_grpc.ObserverStub(c) for c in chans]
    outs = [{} for _ in range(n)]
    flt = {"destination_port": [E["TRAFFIC_PORT"]], "source_pod": ["x/b"]}
    ts_ = [threading.Thread(target=follower, args=(stubs[i % 5], {"follow": True, "whitelist": [flt]}, outs[i]))
           for i in range(n)]
    for t in ts_:
        t.start()
    up = wait_for(lambda: module_status()["flows"]["followers"] >= n, 20)
    check(up, "%d concurrent followers are served" % n, json.dumps(module_status()))
    stub = stubs[0]
    before = set(uuids(flows_only(get_flows(stub, {"whitelist": [flt]}))))
    traffic(3)

    def expected():
        return [u for u in uuids(flows_only(get_flows(stub, {"whitelist": [flt]}))) if u not in before]

    # every follower has every new matching flow (the ring is the truth)
    wait_for(lambda: all(tuple(uuids(o.get("resps", []))) == tuple(expected()) for o in outs), 20)
    want = tuple(expected())
    counts = [len(o.get("resps", [])) for o in outs]
    ids = [tuple(uuids(o.get("resps", []))) for o in outs]
    for o in outs:
        o["it"].cancel()
    for t in ts_:
        t.join(10)
    check(len(want) >= 3 and set(ids) == {want},
          "every one of the %d followers got the same %d new flows" % (n, counts[0]),
          json.dumps(counts))
    check(wait_for(lambda: module_status()["flows"]["followers"] == 0),
          "all %d followers are gone once cancelled" % n)


# ---- the client that stops reading (raw HTTP/2, python3-h2) ----------------------------

def check_stalled_client():
    import h2.config
    import h2.connection
    import h2.events
    path = E["HUBBLE_UNIX"][len("unix://"):]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    # a receive window of 0: the server may queue but not send DATA
    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
    body = observer_pb2.GetFlowsRequest(follow=True, number=100000).SerializeToString()
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/observer.Observer/GetFlows"),
                            (":authority", "localhost"), ("content-type", "application/grpc"), ("te", "trailers")])
    conn.send_data(sid, struct.pack(">BI", 0, len(body)) + body, end_stream=True)
    s.sendall(conn.data_to_send())
    before = module_status()["flows"]["followers_dropped"]
    # keep the flows coming so the call's buffer (client_buffer) fills up
    status, deadline = None, time.time() + 30
    s.settimeout(0.5)
    while status is None and time.time() < deadline:
        traffic(3)
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.StreamReset):
                status = {"rst": int(ev.error_code)}
            elif isinstance(ev, h2.events.TrailersReceived):
                status = dict(ev.headers)
        s.sendall(conn.data_to_send())
    s.close()
    # RST_STREAM ENHANCE_YOUR_CALM (11): gRPC's RESOURCE_EXHAUSTED
    check(status == {"rst": 11},
          "a follower whose client reads nothing is dropped: RST_STREAM ENHANCE_YOUR_CALM "
          "(RESOURCE_EXHAUSTED to gRPC clients)", status)
    check(module_status()["flows"]["followers_dropped"] > before,
          "... and counted (followers_dropped)")


# ---- TCP and TLS -------------------------------------------------------------------------

def check_tls():
    ch = check_unary("tls")
    stub = observer_pb2_grpc.ObserverStub(ch)
    check(len(flows_only(get_flows(stub, {"number": 5}))) == 5, "tls: GetFlows")
    # max_streams of this instance is 2: a third call is refused
    outs = [{}, {}]
    ts_ = [threading.Thread(target=follower, args=(stub, {"follow": True}, o)) for o in outs]
    for t in ts_:
        t.start()
    wait_for(lambda: module_status("hubble/hubble-observer:tls")["streams"]["open"] >= 2)
    try:
        list(stub.GetFlows(observer_pb2.GetFlowsRequest(follow=True), timeout=5))
        bad("a call over max_streams is refused")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED,
              "a call over max_streams: RESOURCE_EXHAUSTED (%s)" % e.details())
    for o in outs:
        o["it"].cancel()
    for t in ts_:
        t.join(10)
    plain = grpc.insecure_channel(E["HUBBLE_TLS"])
    try:
        health_pb2_grpc.HealthStub(plain).Check(health_pb2.HealthCheckRequest(), timeout=3)
        bad("plaintext to the TLS listener fails")
    except grpc.RpcError:
        ok("plaintext to the TLS listener fails")


def main():
    ch = check_unary("unix")
    stub = observer_pb2_grpc.ObserverStub(ch)
    check_same_flows(stub, "unix")
    tcp = check_unary("tcp")
    check_same_flows(observer_pb2_grpc.ObserverStub(tcp), "tcp")
    check_filters(stub)
    check_every_filter_field(stub)
    check_filter_extensions(stub)
    check_metrics()
    check_window(stub)
    check_follow(stub)
    check_many_followers(50)
    check_stalled_client()
    check_tls()
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
