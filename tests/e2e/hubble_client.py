# SPDX-License-Identifier: BSD-2-Clause
"""
tests/e2e/hubble_client.py - a real gRPC client of bulwark's Hubble API,
generated at test time from the same .proto files the module is built from
(modules/hubble-observer/proto/), with Debian's python3-grpcio and
python3-grpc-tools. Used by tests/e2e/test_hubble.sh.

    hubble_client.py [--server unix:///path | HOST:PORT] [--tls-ca FILE]
                     [--tls-server-name NAME] COMMAND [ARGS]

Commands (JSON output is protobuf's JSON mapping with proto field names,
what `hubble observe -o json` prints):
  health [SERVICE]              HealthCheckResponse status name
  status                        ServerStatusResponse as JSON
  nodes | namespaces            GetNodes / GetNamespaces as JSON
  agent-events [--follow-for S] GetAgentEventsResponse lines
  debug-events [--follow-for S] lines (none)
  flows [--request JSON] [--extensions] [--count N] [--timeout S]
        GetFlows with a GetFlowsRequest given as protobuf JSON; one
        GetFlowsResponse per line; --count stops (cancels) after N
        responses; --timeout sets the call's deadline
  raw METHOD HEX                send raw request bytes, print the status
  followers N SECONDS [--request JSON]
        N concurrent GetFlows followers for SECONDS, then cancel; prints
        one JSON line per follower {"flows": n, "lost": n, "code": ...}
Exit status: 0, or 2 with the gRPC status code name and details on stderr.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time


def build_stubs(proto_root, out):
    """Generate the Python modules from the .proto files (grpc_tools)."""
    from grpc_tools import protoc
    import grpc_tools
    wkt = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = ["flow/flow.proto", "relay/relay.proto", "observer/observer.proto",
             "peer/peer.proto", "bulwark/extensions.proto"]
    args = ["grpc_tools.protoc", "-I" + os.path.join(proto_root, "api/v1"),
            "-I" + proto_root, "-I" + wkt, "--python_out=" + out,
            "--grpc_python_out=" + out] + files
    if protoc.main(args) != 0:
        sys.exit("protoc failed on " + proto_root)
    # grpc/health/v1/health.proto would become the Python package "grpc",
    # which is grpcio's own: compile the same file under another path
    # (the proto package, grpc.health.v1, and so the method paths stay).
    src = os.path.join(out, "src", "hchk")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(proto_root, "grpc/health/v1/health.proto")) as f:
        text = f.read()
    with open(os.path.join(src, "health.proto"), "w") as f:
        f.write(text)
    if protoc.main(["grpc_tools.protoc", "-I" + os.path.join(out, "src"),
                    "--python_out=" + out, "--grpc_python_out=" + out,
                    "hchk/health.proto"]) != 0:
        sys.exit("protoc failed on health.proto")
    sys.path.insert(0, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="unix:///var/run/bulwark/hubble.sock")
    ap.add_argument("--proto", default=os.environ.get("HUBBLE_PROTO"))
    ap.add_argument("--stubs", default=os.environ.get("HUBBLE_STUBS"))
    ap.add_argument("--tls-ca")
    ap.add_argument("--tls-server-name")
    ap.add_argument("--tls-client-cert")
    ap.add_argument("--tls-client-key")
    ap.add_argument("cmd")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--request", default="{}")
    ap.add_argument("--extensions", action="store_true")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=None)
    ap.add_argument("--follow-for", type=float, default=0)
    a = ap.parse_args()

    stubs = a.stubs or tempfile.mkdtemp(prefix="hubble-stubs.")
    if not os.path.exists(os.path.join(stubs, "observer", "observer_pb2.py")):
        build_stubs(a.proto, stubs)
    else:
        sys.path.insert(0, stubs)
    if a.cmd == "gen":
        return 0

    import grpc
    from google.protobuf import json_format
    from observer import observer_pb2, observer_pb2_grpc
    from flow import flow_pb2  # noqa: F401 (registers the types)
    from bulwark import extensions_pb2
    from hchk import health_pb2, health_pb2_grpc

    if a.tls_ca:
        creds = grpc.ssl_channel_credentials(
            root_certificates=open(a.tls_ca, "rb").read(),
            private_key=open(a.tls_client_key, "rb").read() if a.tls_client_key else None,
            certificate_chain=open(a.tls_client_cert, "rb").read() if a.tls_client_cert else None)
        opts = []
        if a.tls_server_name:
            opts.append(("grpc.ssl_target_name_override", a.tls_server_name))
        ch = grpc.secure_channel(a.server, creds, options=opts)
    else:
        ch = grpc.insecure_channel(a.server)
    obs = observer_pb2_grpc.ObserverStub(ch)

    def js(m):
        return json_format.MessageToJson(m, preserving_proto_field_name=True,
                                         indent=None)

    def fail(e):
        sys.stderr.write("%s: %s\n" % (e.code().name, e.details()))
        return 2

    try:
        if a.cmd == "health":
            h = health_pb2_grpc.HealthStub(ch)
            svc = a.args[0] if a.args else "hubble.server.Observer"
            r = h.Check(health_pb2.HealthCheckRequest(service=svc), timeout=10)
            print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
        elif a.cmd == "health-watch":
            h = health_pb2_grpc.HealthStub(ch)
            it = h.Watch(health_pb2.HealthCheckRequest(service=a.args[0] if a.args else ""))
            r = next(it)
            print(health_pb2.HealthCheckResponse.ServingStatus.Name(r.status))
            it.cancel()
        elif a.cmd == "status":
            print(js(obs.ServerStatus(observer_pb2.ServerStatusRequest(), timeout=10)))
        elif a.cmd == "nodes":
            print(js(obs.GetNodes(observer_pb2.GetNodesRequest(), timeout=10)))
        elif a.cmd == "namespaces":
            print(js(obs.GetNamespaces(observer_pb2.GetNamespacesRequest(), timeout=10)))
        elif a.cmd in ("agent-events", "debug-events"):
            if a.cmd == "agent-events":
                req = json_format.Parse(a.request, observer_pb2.GetAgentEventsRequest())
                it = obs.GetAgentEvents(req)
            else:
                req = json_format.Parse(a.request, observer_pb2.GetDebugEventsRequest())
                it = obs.GetDebugEvents(req)
            if a.follow_for:
                threading.Timer(a.follow_for, it.cancel).start()
            try:
                for r in it:
                    print(js(r), flush=True)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    raise
                print("CANCELLED", flush=True)
        elif a.cmd == "flows":
            req = json_format.Parse(a.request, observer_pb2.GetFlowsRequest())
            if a.extensions:
                req.extensions.Pack(extensions_pb2.GetFlowsExtensions(flow_extensions=True),
                                    type_url_prefix="bulwark.io/")
            it = obs.GetFlows(req, timeout=a.timeout)
            n = 0
            try:
                for r in it:
                    print(js(r), flush=True)
                    n += 1
                    if a.count and n >= a.count:
                        it.cancel()
                        break
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    raise
        elif a.cmd == "raw":
            call = ch.unary_unary(a.args[0], request_serializer=None,
                                  response_deserializer=None)
            r = call(bytes.fromhex(a.args[1]), timeout=10)
            print("OK", r.hex())
        elif a.cmd == "count":
            # one follower for SECONDS, counting without decoding flows
            # (benchmarks): prints {"flows": n, "lost": n, "code": ...}
            secs = float(a.args[0])
            call = ch.unary_stream("/observer.Observer/GetFlows", request_serializer=None,
                                   response_deserializer=None)
            req = json_format.Parse(a.request, observer_pb2.GetFlowsRequest())
            it = call(req.SerializeToString())
            threading.Timer(secs, it.cancel).start()
            res = {"flows": 0, "lost": 0, "code": "OK"}
            print("READY", flush=True)
            try:
                for b in it:
                    if b[:1] == b"\x0a":
                        res["flows"] += 1
                    else:
                        r = observer_pb2.GetFlowsResponse.FromString(b)
                        if r.HasField("lost_events"):
                            res["lost"] += r.lost_events.num_events_lost
            except grpc.RpcError as e:
                res["code"] = e.code().name
            print(json.dumps(res), flush=True)
        elif a.cmd == "followers":
            nf, secs = int(a.args[0]), float(a.args[1])
            results = [None] * nf
            iters = []
            ready = threading.Barrier(nf + 1)

            def follow(i):
                req = json_format.Parse(a.request, observer_pb2.GetFlowsRequest())
                it = obs.GetFlows(req)
                iters.append(it)
                res = {"flows": 0, "lost": 0, "code": "OK"}
                ready.wait()
                try:
                    for r in it:
                        if r.HasField("flow"):
                            res["flows"] += 1
                        elif r.HasField("lost_events"):
                            res["lost"] += r.lost_events.num_events_lost
                except grpc.RpcError as e:
                    res["code"] = e.code().name
                results[i] = res
            ts = [threading.Thread(target=follow, args=(i,)) for i in range(nf)]
            for t in ts:
                t.start()
            ready.wait()
            print("READY", flush=True)
            time.sleep(secs)
            for it in iters:
                it.cancel()
            for t in ts:
                t.join()
            for r in results:
                print(json.dumps(r))
        else:
            sys.exit("unknown command " + a.cmd)
    except grpc.RpcError as e:
        return fail(e)
    return 0


if __name__ == "__main__":
    sys.exit(main())
