#!/usr/bin/python3
"""Test client for the gRPC server (src/rpc) running as tests/tools/aa-grpc-test.

    grpc_client.py STUBS_DIR TARGET CASE [ARG]

STUBS_DIR holds Python stubs generated from tests/rpc/test_service.proto and
aahealth.proto (a copy of proto/grpc/health/v1/health.proto; see tests/integration/
grpc.test.sh). TARGET is unix:///path or host:port (for tcp). Each CASE exercises one
behaviour, with the real grpcio client or, for what a well-behaved client never sends, a
raw HTTP/2 connection (python3-h2 over a plain socket). Exit status 0 means the case passed;
failures print the reason to stderr.
"""
import os
import socket
import sys
import threading
import time
import queue

import grpc
import h2.config
import h2.connection
import h2.events
import h2.settings
import h2.errors

sys.path.insert(0, sys.argv[1])
import test_service_pb2 as pb  # noqa: E402
import test_service_pb2_grpc as pbg  # noqa: E402
import aahealth_pb2 as hpb  # noqa: E402
import aahealth_pb2_grpc as hpbg  # noqa: E402

TARGET = sys.argv[2]
MiB = 1 << 20
SERVICE = "/aatest.v1.Test/"


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def channel(**opts):
    options = [("grpc.max_receive_message_length", 64 * MiB),
               ("grpc.max_send_message_length", 64 * MiB)]
    options += list(opts.items())
    return grpc.insecure_channel(TARGET, options=options)


def stub(ch=None):
    return pbg.TestStub(ch or channel())


def stats(st=None):
    return (st or stub()).GetStats(pb.Empty(), timeout=5)


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, None


def wait_until(pred, timeout=5.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise Fail("timed out waiting for " + what)


def pattern(n):
    return bytes((i * 7 + 1) & 0xFF for i in range(n)) if n < 4096 else (
        bytes((i * 7 + 1) & 0xFF for i in range(256)) * (n // 256 + 1))[:n]


# --- cases with the real client ----------------------------------------------------------

def case_unary():
    st = stub()
    for n in (0, 1, 100, 65536, 1 * MiB + 3, 4 * MiB):
        data = os.urandom(n)
        r = st.Echo(pb.Blob(data=data), timeout=10)
        expect(r.data == data, "echo of %d bytes differs" % n)


def case_server_stream():
    got = list(stub().Download(pb.StreamRequest(count=100, size=1000), timeout=10))
    expect(len(got) == 100, "expected 100 messages, got %d" % len(got))
    want = bytes(((i * 7 + 1) & 0xFF) for i in range(1000))
    expect(all(m.data == want for m in got), "message content differs")
    got = list(stub().Download(pb.StreamRequest(count=0, size=10), timeout=10))
    expect(got == [], "count 0 must give no messages")


def case_client_stream():
    sizes = [0, 1, 7, 1000, 70000, 300000] * 5
    r = stub().Upload(iter(pb.Blob(data=b"z" * n) for n in sizes), timeout=10)
    expect(r.bytes == sum(sizes) and r.messages == len(sizes), "sum wrong: %s" % r)
    r = stub().Upload(iter([]), timeout=10)
    expect(r.bytes == 0 and r.messages == 0, "empty upload: %s" % r)


def case_bidi():
    # Ping-pong: each request is sent only after the previous answer arrived.
    q = queue.Queue()

    def requests():
        for i in range(50):
            yield pb.Blob(data=b"%d" % i * (i + 1))
            q.get(timeout=5)

    n = 0
    for i, m in enumerate(stub().EchoStream(requests(), timeout=10)):
        expect(m.data == b"%d" % i * (i + 1), "bidi message %d differs" % i)
        n += 1
        q.put(None)
    expect(n == 50, "bidi got %d of 50" % n)


def case_concurrent():
    st = stub()
    futs = [st.Echo.future(pb.Blob(data=b"c%d" % i), timeout=10) for i in range(64)]
    streams = [st.Download(pb.StreamRequest(count=20, size=5000), timeout=10) for _ in range(8)]
    for i, f in enumerate(futs):
        expect(f.result().data == b"c%d" % i, "concurrent echo %d" % i)
    for s in streams:
        expect(len(list(s)) == 20, "concurrent stream incomplete")


def case_async_finish():
    # Delay is finished from a timer, long after its handler returned.
    st = stub()
    t0 = time.monotonic()
    futs = [st.Delay.future(pb.DelayRequest(ms=300), timeout=5) for _ in range(10)]
    for f in futs:
        f.result()
    dt = time.monotonic() - t0
    expect(0.25 <= dt < 3, "delay took %.2f s" % dt)


def case_deadline():
    st = stub()
    before = stats(st).cancels
    code, _ = code_of(lambda: st.Hang(pb.Blob(data=b"x"), timeout=0.3))
    expect(code == grpc.StatusCode.DEADLINE_EXCEEDED, "got %s" % code)
    wait_until(lambda: stats(st).cancels > before, what="server-side on_cancel")
    code, _ = code_of(lambda: st.Delay(pb.DelayRequest(ms=2000), timeout=0.2))
    expect(code == grpc.StatusCode.DEADLINE_EXCEEDED, "delay: got %s" % code)
    wait_until(lambda: stats(st).active_calls == 1, what="calls to go away")


def case_cancel():
    st = stub()
    s0 = stats(st)
    f = st.Hang.future(pb.Blob(), timeout=30)
    time.sleep(0.3)
    f.cancel()
    wait_until(lambda: stats(st).client_cancels > s0.client_cancels, what="cancel of unary")
    s1 = stats(st)
    it = st.Download(pb.StreamRequest(count=1000000, size=1000), timeout=30)
    for _ in range(10):
        next(it)
    it.cancel()
    wait_until(lambda: stats(st).client_cancels > s1.client_cancels, what="cancel of stream")
    wait_until(lambda: stats(st).active_calls == 1, what="calls to go away")


def case_too_big():
    st = stub()
    # Serialized Blob of 16 MiB + 1 bytes: tag (1) + length varint (4) + data.
    big = pb.Blob(data=b"\0" * (16 * MiB + 1 - 5))
    expect(len(big.SerializeToString()) == 16 * MiB + 1, "test message size")
    code, details = code_of(lambda: st.Echo(big, timeout=30))
    expect(code == grpc.StatusCode.RESOURCE_EXHAUSTED, "got %s %s" % (code, details))
    exact = pb.Blob(data=b"\1" * (16 * MiB - 5))
    r = st.Echo(exact, timeout=30)
    expect(r.data == exact.data, "16 MiB echo differs")
    code, _ = code_of(lambda: st.Upload(iter([pb.Blob(data=b"a"), big]), timeout=30))
    expect(code == grpc.StatusCode.RESOURCE_EXHAUSTED, "stream: got %s" % code)
    expect(st.Echo(pb.Blob(data=b"ok"), timeout=5).data == b"ok", "server still serves")


def case_stream_64mib(limit_kb):
    st = stub()
    n = 0
    for m in st.Download(pb.StreamRequest(count=64, size=MiB), timeout=120):
        expect(len(m.data) == MiB, "download message size")
        n += 1
    expect(n == 64, "download got %d of 64 messages" % n)
    chunk = pb.Blob(data=b"u" * MiB)
    r = st.Upload(iter([chunk] * 64), timeout=120)
    expect(r.bytes == 64 * MiB and r.messages == 64, "upload sum %s" % r)
    got = 0
    for m in st.EchoStream(iter([chunk] * 64), timeout=120):
        got += len(m.data)
    expect(got == 64 * MiB, "bidi echoed %d bytes" % got)
    rss = stats(st).max_rss_kb
    print("server max_rss_kb=%d" % rss)
    expect(rss < int(limit_kb), "server peak RSS %d KiB >= %s KiB" % (rss, limit_kb))


def case_slow_reader(limit_kb):
    # A client that reads a 64 MiB download slowly: the server must hold back (flow
    # control and the call's send queue), not buffer the stream.
    st = stub()
    it = st.Download(pb.StreamRequest(count=64, size=MiB), timeout=120)
    n = 0
    for m in it:
        n += 1
        if n < 8:
            time.sleep(0.2)
    expect(n == 64, "slow download got %d" % n)
    rss = stats(st).max_rss_kb
    expect(rss < int(limit_kb), "server peak RSS %d KiB >= %s KiB" % (rss, limit_kb))


def case_unimplemented():
    ch = channel()
    for path in (SERVICE + "Nope", "/nope.Service/Echo", "/aatest.v1.Test/echo"):
        call = ch.unary_unary(path)
        code, _ = code_of(lambda: call(b"", timeout=5))
        expect(code == grpc.StatusCode.UNIMPLEMENTED, "%s: got %s" % (path, code))


def case_fail():
    st = stub()
    for c in range(1, 17):
        msg = "failure %d: 100%% sure, ünïcode, new\nline" % c
        code, details = code_of(lambda: st.Fail(pb.FailRequest(code=c, message=msg), timeout=5))
        expect(code.value[0] == c, "code %d came back as %s" % (c, code))
        expect(details == msg, "details %r" % details)
    code, _ = code_of(lambda: st.Fail(pb.FailRequest(code=0), timeout=5))
    expect(code == grpc.StatusCode.OK, "code 0: %s" % code)


def case_health():
    ch = channel()
    h = hpbg.HealthStub(ch)
    st = stub(ch)
    S = hpb.HealthCheckResponse
    expect(h.Check(hpb.HealthCheckRequest(service=""), timeout=5).status == S.SERVING, "overall")
    expect(h.Check(hpb.HealthCheckRequest(service="aatest.v1.Test"), timeout=5).status == S.SERVING,
           "service")
    code, _ = code_of(lambda: h.Check(hpb.HealthCheckRequest(service="nope"), timeout=5))
    expect(code == grpc.StatusCode.NOT_FOUND, "unknown service: %s" % code)
    w = h.Watch(hpb.HealthCheckRequest(service="w1"), timeout=20)
    expect(next(w).status == S.SERVICE_UNKNOWN, "watch of unknown service")
    st.SetHealth(pb.HealthSet(service="w1", status=S.SERVING), timeout=5)
    expect(next(w).status == S.SERVING, "watch: SERVING")
    st.SetHealth(pb.HealthSet(service="w1", status=S.SERVING), timeout=5)  # no change: no message
    st.SetHealth(pb.HealthSet(service="w1", status=S.NOT_SERVING), timeout=5)
    expect(next(w).status == S.NOT_SERVING, "watch: NOT_SERVING")
    expect(h.Check(hpb.HealthCheckRequest(service="w1"), timeout=5).status == S.NOT_SERVING, "check")
    st.SetHealth(pb.HealthSet(service="w1", status=99), timeout=5)
    expect(next(w).status == S.SERVICE_UNKNOWN, "watch: forgotten")
    w.cancel()
    w2 = h.Watch(hpb.HealthCheckRequest(service=""), timeout=20)
    expect(next(w2).status == S.SERVING, "watch of overall status")
    w2.cancel()
    wait_until(lambda: stats(st).active_calls == 1, what="watches to go away")


def case_ready():
    """The socket file exists: a call must succeed at once (the SDKs' readiness rule)."""
    h = hpbg.HealthStub(grpc.insecure_channel(TARGET))
    r = h.Check(hpb.HealthCheckRequest(service=""), timeout=2, wait_for_ready=False)
    expect(r.status == hpb.HealthCheckResponse.SERVING, "not serving")


def case_hold_watch():
    """Opens a Watch and a Hang and waits for the server to go away (SIGTERM test)."""
    ch = channel()
    w = hpbg.HealthStub(ch).Watch(hpb.HealthCheckRequest(service=""), timeout=30)
    next(w)
    f = stub(ch).Hang.future(pb.Blob(), timeout=30)
    print("holding", flush=True)
    code, _ = code_of(lambda: next(w))
    expect(code == grpc.StatusCode.UNAVAILABLE, "watch ended with %s" % code)
    code, _ = code_of(f.result)
    expect(code == grpc.StatusCode.UNAVAILABLE, "hang ended with %s" % code)


def case_appear(tool, sock):
    """Starts the server on a Unix socket and connects the moment the file appears: the
    connection must be answered (the file appears only once the server listens), the file
    is 0600, and it is removed on SIGTERM."""
    import subprocess
    for _ in range(5):
        if os.path.exists(sock):
            os.unlink(sock)
        p = subprocess.Popen([tool, "--listen", "unix://" + sock], stdout=subprocess.DEVNULL)
        try:
            end = time.monotonic() + 10
            while not os.path.exists(sock):
                expect(time.monotonic() < end and p.poll() is None, "socket never appeared")
                time.sleep(0.0005)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.settimeout(5)
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            head = s.recv(9)
            expect(len(head) == 9 and head[3] == 4, "no SETTINGS right after the file appeared")
            s.close()
            mode = os.stat(sock).st_mode & 0o777
            expect(mode == 0o600, "socket mode %o" % mode)
            h = hpbg.HealthStub(grpc.insecure_channel("unix://" + sock))
            r = h.Check(hpb.HealthCheckRequest(service=""), timeout=2, wait_for_ready=False)
            expect(r.status == hpb.HealthCheckResponse.SERVING, "not serving")
        finally:
            p.terminate()
            rc = p.wait(10)
        expect(rc == 0, "exit status %s after SIGTERM" % rc)
        expect(not os.path.exists(sock), "socket file left after SIGTERM")
        leftovers = [f for f in os.listdir(os.path.dirname(sock)) if f.endswith(".tmp")]
        expect(not leftovers, "temporary files left: %s" % leftovers)


# --- raw HTTP/2 cases ------------------------------------------------------------------------

def connect_raw():
    if TARGET.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(TARGET[len("unix://"):])
    else:
        host, port = TARGET.rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)))
    s.settimeout(5)
    return s


class Raw:
    def __init__(self):
        self.sock = connect_raw()
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.events = []
        self.closed = False
        self.conn.initiate_connection()
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                self.closed = True

    def pump(self, timeout=0.2, answer=True):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except socket.timeout:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        for ev in self.conn.receive_data(data):
            self.events.append(ev)
            if isinstance(ev, h2.events.DataReceived):
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        if answer:
            self.flush()
        return True

    def wait(self, pred, timeout=5.0, answer=True):
        end = time.monotonic() + timeout
        while time.monotonic() < end and not self.closed:
            for ev in self.events:
                if pred(ev):
                    return ev
            self.pump(answer=answer)
        for ev in self.events:
            if pred(ev):
                return ev
        return None

    def request(self, path, content_type="application/grpc", method="POST", te=True,
                extra=(), body=None, end=True):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":path", path),
                (":authority", "localhost")]
        if te:
            hdrs.append(("te", "trailers"))
        if content_type:
            hdrs.append(("content-type", content_type))
        hdrs += list(extra)
        self.conn.send_headers(sid, hdrs, end_stream=body is None and end)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=end)
        self.flush()
        return sid

    def response(self, sid, timeout=5.0):
        """Waits for the stream to end; returns (headers, data, trailers, reset_code)."""
        def done(ev):
            return (isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)) and
                    ev.stream_id == sid)
        self.wait(done, timeout)
        headers, trailers, data, reset = {}, {}, b"", None
        for ev in self.events:
            if getattr(ev, "stream_id", None) != sid:
                continue
            if isinstance(ev, h2.events.ResponseReceived):
                headers = dict(ev.headers)
            elif isinstance(ev, h2.events.TrailersReceived):
                trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                data += ev.data
            elif isinstance(ev, h2.events.StreamReset) and reset is None:
                reset = ev.error_code
        return headers, data, trailers, reset

    def close(self):
        self.sock.close()


def frame(msg, flag=0, length=None):
    n = len(msg) if length is None else length
    return bytes([flag]) + n.to_bytes(4, "big") + msg


def grpc_status(headers, trailers):
    return int(trailers.get("grpc-status", headers.get("grpc-status", "-1")))


def still_serving():
    expect(stub().Echo(pb.Blob(data=b"alive"), timeout=5).data == b"alive",
           "server no longer serves")


def case_raw_protocol():
    r = Raw()
    blob = pb.Blob(data=b"hi").SerializeToString()
    # A correct call first, so the helpers are known to work.
    sid = r.request(SERVICE + "Echo", body=frame(blob))
    h, d, t, _ = r.response(sid)
    expect(h.get(":status") == "200" and grpc_status(h, t) == 0 and d == frame(blob),
           "raw echo: %s %r %s" % (h, d, t))
    cases = [
        # (description, request kwargs, expected :status, expected grpc-status)
        ("wrong content-type", dict(content_type="text/plain", body=frame(blob)), "415", None),
        ("no content-type", dict(content_type=None, body=frame(blob)), "415", None),
        ("GET", dict(method="GET", content_type="application/grpc"), "405", None),
        ("no te", dict(te=False, body=frame(blob)), "400", None),
        ("content-type suffix", dict(content_type="application/grpc+proto", body=frame(blob)),
         "200", 0),
        ("unknown method", dict(path=SERVICE + "Missing", body=frame(blob)), "200", 12),
        ("truncated message", dict(body=frame(blob, length=100)), "200", 13),
        ("prefix cut short", dict(body=b"\0\0\0"), "200", 13),
        ("compressed, no grpc-encoding", dict(body=frame(blob, flag=1)), "200", 13),
        ("compressed with gzip", dict(body=frame(blob, flag=1), extra=[("grpc-encoding", "gzip")]),
         "200", 12),
        ("bad compressed flag", dict(body=frame(blob, flag=2)), "200", 13),
        ("two unary messages", dict(path=SERVICE + "Hang", body=frame(blob) + frame(blob)),
         "200", 13),
        ("no unary message", dict(body=b""), "200", 13),
        ("message too large", dict(body=frame(b"", length=16 * MiB + 1)), "200", 8),
        ("malformed grpc-timeout", dict(body=frame(blob), extra=[("grpc-timeout", "1x")]),
         "200", 13),
        ("grpc-timeout too long", dict(body=frame(blob), extra=[("grpc-timeout", "123456789S")]),
         "200", 13),
        ("identity grpc-encoding", dict(body=frame(blob), extra=[("grpc-encoding", "identity")]),
         "200", 0),
        ("grpc-timeout in hours", dict(body=frame(blob), extra=[("grpc-timeout", "1H")]), "200", 0),
        ("grpc-timeout in ns", dict(body=frame(blob), extra=[("grpc-timeout", "99999999n")]),
         "200", 0),
    ]
    for what, kw, want_http, want_grpc in cases:
        path = kw.pop("path", SERVICE + "Echo")
        sid = r.request(path, **kw)
        h, d, t, reset = r.response(sid)
        expect(h.get(":status") == want_http, "%s: :status %s (%s %s)" % (what, h, t, reset))
        if want_grpc is not None:
            expect(grpc_status(h, t) == want_grpc, "%s: grpc-status %s %s" % (what, h, t))
        else:
            expect("grpc-status" in h, "%s: no grpc-status in %s" % (what, h))
    # A message split over many DATA frames, 1 byte at a time.
    sid = r.request(SERVICE + "Echo", body=None, end=False)
    msg = frame(pb.Blob(data=b"split" * 20).SerializeToString())
    for i in range(len(msg)):
        r.conn.send_data(sid, msg[i:i + 1], end_stream=i == len(msg) - 1)
    r.flush()
    h, d, t, _ = r.response(sid)
    expect(grpc_status(h, t) == 0 and d == msg, "split message: %s %s" % (h, t))
    # Headers over the limit reset the stream, the connection lives on.
    sid = r.request(SERVICE + "Echo", body=frame(blob), extra=[("x-big", "v" * 20000)])
    h, d, t, reset = r.response(sid)
    expect(reset is not None and not h, "huge headers: %s %s" % (h, reset))
    sid = r.request(SERVICE + "Echo", body=frame(blob))
    h, d, t, _ = r.response(sid)
    expect(grpc_status(h, t) == 0, "connection still works after errors")
    r.close()
    still_serving()


def case_raw_deadline():
    st = stub()
    before = stats(st).deadline_cancels
    r = Raw()
    sid = r.request(SERVICE + "Hang", body=frame(b""), end=False,
                    extra=[("grpc-timeout", "200m")])
    t0 = time.monotonic()
    _, _, _, reset = r.response(sid, timeout=5)
    dt = time.monotonic() - t0
    expect(reset == h2.errors.ErrorCodes.CANCEL, "expected RST_STREAM CANCEL, got %s" % reset)
    expect(0.15 < dt < 2, "deadline after %.2f s" % dt)
    wait_until(lambda: stats(st).deadline_cancels > before, what="deadline on_cancel")
    r.close()


def case_raw_garbage():
    s = connect_raw()
    s.sendall(os.urandom(4096))
    s.settimeout(5)
    try:
        while s.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    # Valid preface then a frame that breaks the protocol: DATA on stream 0.
    r = Raw()
    r.sock.sendall(b"\x00\x00\x04\x00\x00\x00\x00\x00\x00abcd")
    ev = r.wait(lambda e: isinstance(e, h2.events.ConnectionTerminated), timeout=5)
    expect(ev is not None and ev.error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR,
           "expected GOAWAY PROTOCOL_ERROR, got %s" % ev)
    r.wait(lambda e: False, timeout=2)
    expect(r.closed, "server did not close the broken connection")
    # Truncated frames: a frame header cut short, then close; one left hanging open.
    s = connect_raw()
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00" +
              b"\x00\x00\x10\x01")
    s.close()
    hanging = connect_raw()
    hanging.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"
                    b"\x00\x40\x00\x00")  # a DATA frame header promising 16 KiB, no payload
    half = connect_raw()
    half.sendall(b"PRI * HTTP/2.0\r\n")  # half a preface
    still_serving()
    hanging.close()
    half.close()
    still_serving()


def case_raw_settings(max_streams):
    r = Raw()
    ev = r.wait(lambda e: isinstance(e, h2.events.RemoteSettingsChanged), timeout=5)
    expect(ev is not None, "no SETTINGS from the server")
    got = r.conn.remote_settings.max_concurrent_streams
    expect(got == int(max_streams), "max_concurrent_streams %s" % got)
    # The limit is enforced: all allowed streams open; one more (h2 would refuse to send it,
    # so its view of the limit is raised) is a connection error for nghttp2 once our
    # SETTINGS are acknowledged (RFC 9113 5.1.2 allows stream or connection error).
    sids = [r.request(SERVICE + "Hang", body=frame(b""), end=False)
            for _ in range(int(max_streams))]
    r.wait(lambda e: False, timeout=0.5)
    expect(not r.closed and not any(isinstance(e, (h2.events.StreamReset,
                                                   h2.events.ConnectionTerminated))
                                    for e in r.events), "allowed streams were refused")
    rs = r.conn.remote_settings
    rs[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = 1000
    rs.acknowledge()
    r.request(SERVICE + "Hang", body=frame(b""), end=False)
    ev = r.wait(lambda e: isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)), 5)
    expect(ev is not None and ev.error_code in (h2.errors.ErrorCodes.REFUSED_STREAM,
                                                h2.errors.ErrorCodes.PROTOCOL_ERROR),
           "extra stream: %s" % ev)
    r.close()
    still_serving()
    wait_until(lambda: stats().active_calls == 1, what="the refused connection's calls to go")


def case_raw_keepalive():
    # The server pings an idle connection; a client that never answers is closed.
    r = Raw()
    ev = r.wait(lambda e: isinstance(e, h2.events.PingReceived), timeout=3, answer=False)
    expect(ev is not None, "no keepalive PING")
    t0 = time.monotonic()
    r.wait(lambda e: False, timeout=5, answer=False)
    expect(r.closed, "silent client not closed")
    expect(time.monotonic() - t0 < 4, "closed too late")
    # A client that answers stays.
    r = Raw()
    end = time.monotonic() + 2
    while time.monotonic() < end and not r.closed:
        r.pump()
    expect(not r.closed, "live client closed")
    pings = sum(1 for e in r.events if isinstance(e, h2.events.PingReceived))
    expect(pings >= 2, "expected repeated pings, saw %d" % pings)
    r.close()


def case_raw_idle():
    r = Raw()
    t0 = time.monotonic()
    ev = r.wait(lambda e: isinstance(e, h2.events.ConnectionTerminated), timeout=5)
    expect(ev is not None and ev.error_code == h2.errors.ErrorCodes.NO_ERROR,
           "expected GOAWAY NO_ERROR, got %s" % ev)
    expect(time.monotonic() - t0 < 3, "idle close too late")
    # A connection with a call in progress is not idle; grpcio reconnects after GOAWAY.
    st = stub()
    st.Delay(pb.DelayRequest(ms=1500), timeout=5)
    time.sleep(1.0)
    expect(st.Echo(pb.Blob(data=b"again"), timeout=5).data == b"again", "reconnect after idle")


def case_raw_max_connections(limit):
    conns = []
    for _ in range(int(limit)):
        r = Raw()
        expect(r.wait(lambda e: isinstance(e, h2.events.RemoteSettingsChanged), 5) is not None,
               "connection within the limit not served")
        conns.append(r)
    extra = Raw()
    extra.wait(lambda e: False, timeout=1.5)
    expect(extra.closed and not extra.events, "connection over the limit was served")
    conns.pop().close()
    time.sleep(0.2)
    r = Raw()
    expect(r.wait(lambda e: isinstance(e, h2.events.RemoteSettingsChanged), 5) is not None,
           "a freed slot is not reused")
    for c in conns + [r]:
        c.close()


def main():
    case = sys.argv[3]
    args = sys.argv[4:]
    fn = globals().get("case_" + case)
    if not fn:
        print("unknown case " + case, file=sys.stderr)
        return 2
    try:
        fn(*args)
    except Fail as e:
        print("%s: %s" % (case, e), file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print("%s: unexpected %s %s" % (case, e.code(), e.details()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
