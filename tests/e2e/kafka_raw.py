#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""tests/e2e/kafka_raw.py - Kafka requests the high-level clients will not
send on purpose, built with kafka-python's own protocol classes (Debian's
python3-kafka) and sent on one connection, for tests/e2e/test_kafka.sh:

  kafka_raw.py BOOT metadata TOPIC...
      one Metadata v1 request naming the topics; prints "TOPIC ERROR ..."
  kafka_raw.py BOOT produce VERSION ACKS TOPIC:PARTITION...
      one Produce request (v2: message format 1, v3+: record batches)
      writing a record to each partition; prints "TOPIC:PARTITION ERROR ..."
      from the answer, "closed" when the peer closed the connection
      without one, "no answer" when none came (acks=0)
"""
import socket
import struct
import sys

from kafka.protocol.metadata import MetadataRequest
from kafka.protocol.produce import ProduceRequest
from kafka.record.memory_records import MemoryRecordsBuilder

CORR = 4242


def connect(boot):
    host, port = boot.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=8)


def send(s, req):
    hdr = struct.pack(">hhih", req.API_KEY, req.API_VERSION, CORR, 7) + b"raw-cli"
    body = req.encode()
    s.sendall(struct.pack(">i", len(hdr) + len(body)) + hdr + body)


def recv_answer(s):
    """The answer's body; None if the peer closed first; 'timeout'."""
    def read(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                return None
            b += c
        return b
    try:
        size = read(4)
        if size is None:
            return None
        data = read(struct.unpack(">i", size)[0])
    except socket.timeout:
        return "timeout"
    except ConnectionResetError:
        return None
    if data is None:
        return None
    corr = struct.unpack(">i", data[:4])[0]
    if corr != CORR:
        sys.exit("answer with correlation id %d, want %d" % (corr, CORR))
    return data[4:]


def metadata(boot, topics):
    s = connect(boot)
    req = MetadataRequest[1](topics=topics)
    send(s, req)
    body = recv_answer(s)
    if not isinstance(body, bytes):
        print("no answer")
        return
    resp = req.RESPONSE_TYPE.decode(body)
    print(" ".join("%s %d" % (t[1], t[0]) for t in resp.topics))


def produce(boot, version, acks, targets):
    by_topic = {}
    for t in targets:
        topic, part = t.rsplit(":", 1)
        b = MemoryRecordsBuilder(2 if version >= 3 else 1, 0, 1 << 20)
        b.append(0, None, b"raw-" + topic.encode(), [])
        b.close()
        by_topic.setdefault(topic, []).append((int(part), bytes(b.buffer())))
    topics = list(by_topic.items())
    if version >= 3:
        req = ProduceRequest[version](None, acks, 5000, topics)
    else:
        req = ProduceRequest[version](acks, 5000, topics)
    s = connect(boot)
    send(s, req)
    if acks == 0:
        s.settimeout(3)
    body = recv_answer(s)
    if body is None:
        print("closed")
        return
    if body == "timeout":
        print("no answer")
        return
    resp = req.RESPONSE_TYPE.decode(body)
    out = []
    for topic, parts in resp.topics:
        for p in parts:
            out.append("%s:%d %d" % (topic, p[0], p[1]))
    print(" ".join(out))


def main():
    boot, cmd = sys.argv[1], sys.argv[2]
    if cmd == "metadata":
        metadata(boot, sys.argv[3:])
    elif cmd == "produce":
        produce(boot, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
