"""Drives agentanycastd daemons over gRPC the way the official SDKs do (REFERENCE D.4), with
stubs generated from our protos by Debian's grpc_tools. Run with /usr/bin/python3.

    sdk_contract.py two SOCK_A SOCK_B        cards, tasks both ways, transitions, 200 x 2
    sdk_contract.py badinput SOCK            documented status codes for bad requests
    sdk_contract.py send SOCK PEER N OUT     send N tasks to PEER, write their ids to OUT
    sdk_contract.py serve SOCK N OUT SECS    complete incoming tasks, log ids in order to OUT
    sdk_contract.py card SOCK NAME           set the agent card

Every wait is bounded; the script exits non-zero on the first failed expectation and prints
"N passed, N failed" at the end."""
import os
import queue
import sys
import threading
import time

import grpc
from agentanycast.v1 import a2a_models_pb2 as am
from agentanycast.v1 import agent_card_pb2 as ac
from agentanycast.v1 import node_service_pb2 as ns
from agentanycast.v1 import node_service_pb2_grpc as nsg

S = am.TaskStatus
passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok:", what, flush=True)
    else:
        failed += 1
        print("FAIL:", what, flush=True)


def summary():
    print(f"{passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)


def stub(sock):
    ch = grpc.insecure_channel("unix://" + sock)
    s = nsg.NodeServiceStub(ch)
    s.GetNodeInfo(ns.GetNodeInfoRequest(), timeout=5)
    return s


def text_part(text):
    return am.Part(text_part=am.TextPart(text=text))


def part_text(part):
    return part.text_part.text


def text_message(text):
    return am.Message(role=am.MESSAGE_ROLE_USER, parts=[text_part(text)])


def card(name):
    return ac.AgentCard(name=name, description=name + " agent", version="1.0")


class Incoming:
    """SubscribeIncomingTasks in a thread: tasks land in a queue."""

    def __init__(self, s):
        self.q = queue.Queue()
        self.call = s.SubscribeIncomingTasks(ns.SubscribeIncomingTasksRequest())
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            for ev in self.call:
                self.q.put(ev)
        except grpc.RpcError:
            pass

    def get(self, timeout=10):
        return self.q.get(timeout=timeout)

    def close(self):
        self.call.cancel()


def updates_until_terminal(s, task_id, timeout=15):
    """SubscribeTaskUpdates until a terminal status; returns the events."""
    events = []
    call = s.SubscribeTaskUpdates(ns.SubscribeTaskUpdatesRequest(task_id=task_id), timeout=timeout)
    try:
        for ev in call:
            events.append(ev)
            if ev.status in (S.TASK_STATUS_COMPLETED, S.TASK_STATUS_FAILED, S.TASK_STATUS_CANCELED,
                             S.TASK_STATUS_REJECTED):
                break
    except grpc.RpcError as e:
        events.append(e)
    call.cancel()
    return events


def whole_stream(s, task_id, timeout=5):
    """Every event of SubscribeTaskUpdates until the server ends the stream (or the error)."""
    try:
        return list(s.SubscribeTaskUpdates(ns.SubscribeTaskUpdatesRequest(task_id=task_id), timeout=timeout))
    except grpc.RpcError as e:
        return e


def code_of(fn):
    try:
        fn()
        return "OK"
    except grpc.RpcError as e:
        return e.code().name


def two(sock_a, sock_b):
    a, b = stub(sock_a), stub(sock_b)
    ia = a.GetNodeInfo(ns.GetNodeInfoRequest(), timeout=5).node_info
    ib = b.GetNodeInfo(ns.GetNodeInfoRequest(), timeout=5).node_info
    check(ia.peer_id.startswith("12D3KooW") and ia.version == "0.1.0", "GetNodeInfo: peer id and version")
    a.SetAgentCard(ns.SetAgentCardRequest(card=card("alpha")), timeout=5)
    b.SetAgentCard(ns.SetAgentCardRequest(card=card("beta")), timeout=5)
    addrs = [x for x in ib.listen_addresses if "/127.0.0.1/" in x]
    r = a.ConnectPeer(ns.ConnectPeerRequest(peer_id=ib.peer_id, addresses=addrs), timeout=10)
    check(r.peer_info.peer_id == ib.peer_id, "ConnectPeer returns the peer")
    pc = a.GetPeerCard(ns.GetPeerCardRequest(peer_id=ib.peer_id), timeout=5).card
    check(pc.name == "beta" and pc.p2p_extension.peer_id == ib.peer_id,
          "GetPeerCard right after ConnectPeer has the peer's card with its peer id")
    deadline = time.time() + 5
    back = None
    while time.time() < deadline:
        try:
            back = b.GetPeerCard(ns.GetPeerCardRequest(peer_id=ia.peer_id), timeout=5).card
            break
        except grpc.RpcError:
            time.sleep(0.05)
    check(back is not None and back.name == "alpha" and back.p2p_extension.did_key.startswith("did:key:z6Mk"),
          "cards exchanged both ways (with did:key)")
    peers = a.ListPeers(ns.ListPeersRequest(), timeout=5).peers
    check(any(p.peer_id == ib.peer_id for p in peers), "ListPeers shows the peer")

    inc_b = Incoming(b)
    inc_a = Incoming(a)
    time.sleep(0.2)

    # Send, complete straight from SUBMITTED with an artifact (DECISIONS 1, 2, 3).
    t = a.SendTask(ns.SendTaskRequest(peer_id=ib.peer_id, message=text_message("hello")), timeout=10).task
    check(t.status == S.TASK_STATUS_SUBMITTED and t.originator_peer_id == "local", "SendTask returns a SUBMITTED local task")
    ev = inc_b.get()
    check(ev.task.task_id == t.task_id and part_text(ev.task.messages[0].parts[0]) == "hello",
          "B receives the task with its message")
    check(ev.sender_card.name == "alpha", "B's incoming event carries the sender card")
    b.CompleteTask(ns.CompleteTaskRequest(task_id=t.task_id, artifacts=[
        am.Artifact(artifact_id="a1", name="result", parts=[text_part("done!")])]), timeout=10)
    evs = updates_until_terminal(a, t.task_id)
    final = evs[-1]
    check(not isinstance(final, Exception) and final.status == S.TASK_STATUS_COMPLETED,
          "A's update stream ends with COMPLETED")
    check(not isinstance(final, Exception) and len(final.artifacts) == 1 and part_text(final.artifacts[0].parts[0]) == "done!",
          "the COMPLETED event carries the artifact")
    got = a.GetTask(ns.GetTaskRequest(task_id=t.task_id), timeout=5).task
    check(got.status == S.TASK_STATUS_COMPLETED and len(got.messages) >= 1 and len(got.artifacts) == 1,
          "GetTask on A returns messages and artifacts")
    # Better than the reference (C.4): subscribing after the end still gives the end, and the
    # stream then finishes with OK (list() returns only then; a stream left open would time out).
    late = whole_stream(a, t.task_id)
    check(not isinstance(late, Exception) and len(late) == 1 and late[0].status == S.TASK_STATUS_COMPLETED
          and len(late[0].artifacts) == 1, "a late subscriber gets COMPLETED with its artifact, then the stream ends OK")

    # FailTask: the error text reaches A.
    t = a.SendTask(ns.SendTaskRequest(peer_id=ib.peer_id, message=text_message("fail me")), timeout=10).task
    inc_b.get()
    b.FailTask(ns.FailTaskRequest(task_id=t.task_id, error_message="boom: no such tool"), timeout=10)
    evs = updates_until_terminal(a, t.task_id)
    final = evs[-1]
    texts = [part_text(p) for p in final.message.parts] if not isinstance(final, Exception) else []
    check(not isinstance(final, Exception) and final.status == S.TASK_STATUS_FAILED and "boom: no such tool" in texts,
          "FailTask's error text reaches A as the status message")
    late = whole_stream(a, t.task_id)
    texts = [part_text(p) for p in late[0].message.parts] if not isinstance(late, Exception) and late else []
    check(not isinstance(late, Exception) and len(late) == 1 and late[0].status == S.TASK_STATUS_FAILED
          and "boom: no such tool" in texts, "a late subscriber gets FAILED with the error text, then the stream ends OK")

    # INPUT_REQUIRED -> WORKING -> COMPLETED.
    t = a.SendTask(ns.SendTaskRequest(peer_id=ib.peer_id, message=text_message("ask")), timeout=10).task
    inc_b.get()
    for st in (S.TASK_STATUS_WORKING, S.TASK_STATUS_INPUT_REQUIRED, S.TASK_STATUS_WORKING):
        b.UpdateTaskStatus(ns.UpdateTaskStatusRequest(task_id=t.task_id, status=st), timeout=10)
    b.CompleteTask(ns.CompleteTaskRequest(task_id=t.task_id), timeout=10)
    deadline = time.time() + 10
    while time.time() < deadline and a.GetTask(ns.GetTaskRequest(task_id=t.task_id), timeout=5).task.status != S.TASK_STATUS_COMPLETED:
        time.sleep(0.05)
    check(a.GetTask(ns.GetTaskRequest(task_id=t.task_id), timeout=5).task.status == S.TASK_STATUS_COMPLETED,
          "INPUT_REQUIRED -> WORKING -> COMPLETED reaches A")
    code = code_of(lambda: b.CompleteTask(ns.CompleteTaskRequest(task_id=t.task_id), timeout=5))
    check(code == "FAILED_PRECONDITION", "completing a terminal task is FAILED_PRECONDITION")

    # CancelTask by the executor (B): A sees it end.
    t = a.SendTask(ns.SendTaskRequest(peer_id=ib.peer_id, message=text_message("cancel me")), timeout=10).task
    inc_b.get()
    r = b.CancelTask(ns.CancelTaskRequest(task_id=t.task_id), timeout=10)
    check(r.task.status == S.TASK_STATUS_CANCELED, "CancelTask on B returns the CANCELED task")
    evs = updates_until_terminal(a, t.task_id)
    check(not isinstance(evs[-1], Exception) and evs[-1].status in (S.TASK_STATUS_FAILED, S.TASK_STATUS_CANCELED),
          "A sees the task end after B cancels it")

    # 200 tasks each way concurrently, all complete.
    def server(s, inc, n, stop):
        done = 0
        while done < n and not stop.is_set():
            try:
                ev = inc.get(timeout=30)
            except queue.Empty:
                return
            s.CompleteTask(ns.CompleteTaskRequest(task_id=ev.task.task_id, artifacts=[
                am.Artifact(artifact_id="x", parts=[text_part(ev.task.task_id)])]), timeout=30)
            done += 1

    def client(s, peer, n, ids):
        for i in range(n):
            ids.append(s.SendTask(ns.SendTaskRequest(peer_id=peer, message=text_message(f"m{i}")), timeout=30).task.task_id)

    stop = threading.Event()
    ids_ab, ids_ba = [], []
    threads = [threading.Thread(target=server, args=(b, inc_b, 200, stop)),
               threading.Thread(target=server, args=(a, inc_a, 200, stop)),
               threading.Thread(target=client, args=(a, ib.peer_id, 200, ids_ab)),
               threading.Thread(target=client, args=(b, ia.peer_id, 200, ids_ba))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    stop.set()
    deadline = time.time() + 30

    def all_done(s, ids):
        return all(s.GetTask(ns.GetTaskRequest(task_id=i), timeout=5).task.status == S.TASK_STATUS_COMPLETED for i in ids)

    while time.time() < deadline and not (all_done(a, ids_ab) and all_done(b, ids_ba)):
        time.sleep(0.2)
    check(len(ids_ab) == 200 and len(ids_ba) == 200 and all_done(a, ids_ab) and all_done(b, ids_ba),
          "200 tasks each way concurrently all COMPLETED")
    inc_a.close()
    inc_b.close()


def stream(sock_a, sock_b, pid_a, pid_b):
    """B streams 64 MiB for a task A sent; A's SubscribeTaskStream must see every byte in
    order, and neither daemon's RSS may grow by more than 64 MiB while it happens."""
    from agentanycast.v1 import streaming_pb2 as sp
    a, b = stub(sock_a), stub(sock_b)
    ib = b.GetNodeInfo(ns.GetNodeInfoRequest(), timeout=5).node_info
    inc_b = Incoming(b)
    time.sleep(0.2)
    t = a.SendTask(ns.SendTaskRequest(peer_id=ib.peer_id, message=text_message("stream please")), timeout=10).task
    inc_b.get()
    b.UpdateTaskStatus(ns.UpdateTaskStatusRequest(task_id=t.task_id, status=S.TASK_STATUS_WORKING), timeout=10)

    def rss(pid):
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    base = (rss(pid_a), rss(pid_b))
    CH, N = 65536, 1024
    got = {"bytes": 0, "ok": True, "end": False, "max_rss": [0, 0]}
    sub = a.SubscribeTaskStream(ns.SubscribeTaskStreamRequest(task_id=t.task_id), timeout=120)

    def reader():
        expect = 0
        try:
            for ev in sub:
                w = ev.WhichOneof("event")
                if w == "stream_chunk":
                    d = ev.stream_chunk.data
                    if ev.stream_chunk.sequence != expect or d != bytes([expect % 251]) * len(d):
                        got["ok"] = False
                    expect += 1
                    got["bytes"] += len(d)
                    if expect % 64 == 0:
                        time.sleep(0.01)  # a slowish consumer: backpressure must hold B back
                elif w == "stream_end":
                    got["end"] = True
                    break
        except grpc.RpcError as e:
            got["ok"] = False
            print("stream error", e.code().name, e.details(), flush=True)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(0.3)

    def events():
        yield ns.SendStreamingArtifactRequest(stream_start=sp.StreamStart(
            task_id=t.task_id, artifact_id="big", artifact_name="big.bin",
            media_type="application/octet-stream", total_chunks=N))
        for i in range(N):
            if i % 128 == 0:
                got["max_rss"] = [max(got["max_rss"][0], rss(pid_a) - base[0]), max(got["max_rss"][1], rss(pid_b) - base[1])]
            yield ns.SendStreamingArtifactRequest(stream_chunk=sp.StreamChunk(
                task_id=t.task_id, artifact_id="big", sequence=i, data=bytes([i % 251]) * CH, is_last=(i == N - 1)))
        yield ns.SendStreamingArtifactRequest(stream_end=sp.StreamEnd(task_id=t.task_id, artifact_id="big",
                                                                      reason=sp.STREAM_END_REASON_COMPLETE))

    b.SendStreamingArtifact(events(), timeout=120)
    th.join(timeout=120)
    sub.cancel()
    inc_b.close()
    check(got["ok"] and got["bytes"] == CH * N, f"A's SubscribeTaskStream got all 64 MiB in order ({got['bytes']} bytes)")
    check(got["end"], "A's stream subscriber sees StreamEnd")
    check(max(got["max_rss"]) < 64 * 1024, f"daemon RSS growth stays bounded during the stream (KiB: {got['max_rss']})")


def badinput(sock):
    s = stub(sock)
    cases = [
        ("SetAgentCard without card", lambda: s.SetAgentCard(ns.SetAgentCardRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("ConnectPeer without peer_id", lambda: s.ConnectPeer(ns.ConnectPeerRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("ConnectPeer with a bad peer_id", lambda: s.ConnectPeer(ns.ConnectPeerRequest(peer_id="nope"), timeout=5), "INVALID_ARGUMENT"),
        ("ConnectPeer to an unreachable peer", lambda: s.ConnectPeer(ns.ConnectPeerRequest(
            peer_id="12D3KooWLcHoHPLNoGfa1E31mMQAFBYmkQRfusqSpPABNCeSB4SU",
            addresses=["/ip4/127.0.0.1/tcp/1"]), timeout=15), "UNAVAILABLE"),
        ("GetPeerCard without peer_id", lambda: s.GetPeerCard(ns.GetPeerCardRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("GetPeerCard of an unknown peer", lambda: s.GetPeerCard(ns.GetPeerCardRequest(
            peer_id="12D3KooWLcHoHPLNoGfa1E31mMQAFBYmkQRfusqSpPABNCeSB4SU"), timeout=5), "NOT_FOUND"),
        ("SendTask without message", lambda: s.SendTask(ns.SendTaskRequest(peer_id="x"), timeout=5), "INVALID_ARGUMENT"),
        ("SendTask without target", lambda: s.SendTask(ns.SendTaskRequest(message=text_message("x")), timeout=5), "INVALID_ARGUMENT"),
        ("SendTask with a bad peer_id", lambda: s.SendTask(ns.SendTaskRequest(peer_id="bad", message=text_message("x")), timeout=5), "INVALID_ARGUMENT"),
        ("SendTask to a skill (no anycast yet)", lambda: s.SendTask(ns.SendTaskRequest(skill_id="sk", message=text_message("x")), timeout=5), "UNAVAILABLE"),
        ("GetTask without id", lambda: s.GetTask(ns.GetTaskRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("GetTask unknown", lambda: s.GetTask(ns.GetTaskRequest(task_id="no-such"), timeout=5), "NOT_FOUND"),
        ("CancelTask unknown", lambda: s.CancelTask(ns.CancelTaskRequest(task_id="no-such"), timeout=5), "NOT_FOUND"),
        ("CancelTask without id", lambda: s.CancelTask(ns.CancelTaskRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("UpdateTaskStatus unknown", lambda: s.UpdateTaskStatus(ns.UpdateTaskStatusRequest(task_id="no-such", status=S.TASK_STATUS_WORKING), timeout=5), "FAILED_PRECONDITION"),
        ("CompleteTask unknown", lambda: s.CompleteTask(ns.CompleteTaskRequest(task_id="no-such"), timeout=5), "FAILED_PRECONDITION"),
        ("FailTask unknown", lambda: s.FailTask(ns.FailTaskRequest(task_id="no-such"), timeout=5), "FAILED_PRECONDITION"),
        ("FailTask without id", lambda: s.FailTask(ns.FailTaskRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("Discover without skill", lambda: s.Discover(ns.DiscoverRequest(), timeout=5), "INVALID_ARGUMENT"),
        ("Discover (no anycast yet)", lambda: s.Discover(ns.DiscoverRequest(skill_id="sk"), timeout=5), "UNAVAILABLE"),
        ("SubscribeTaskUpdates without id", lambda: list(s.SubscribeTaskUpdates(ns.SubscribeTaskUpdatesRequest(), timeout=5)), "INVALID_ARGUMENT"),
        ("SubscribeTaskStream without id", lambda: list(s.SubscribeTaskStream(ns.SubscribeTaskStreamRequest(), timeout=5)), "INVALID_ARGUMENT"),
    ]
    for what, fn, want in cases:
        got = code_of(fn)
        check(got == want, f"{what}: {want} (got {got})")
    info = s.GetNodeInfo(ns.GetNodeInfoRequest(), timeout=5)
    check(info.node_info.version == "0.1.0", "daemon still answers after the bad requests")


def send(sock, peer, n, out):
    s = stub(sock)
    with open(out, "w") as f:
        for i in range(int(n)):
            t = s.SendTask(ns.SendTaskRequest(peer_id=peer, message=text_message(f"seq {i}")), timeout=30).task
            f.write(t.task_id + "\n")
            f.flush()


def serve(sock, n, out, secs):
    s = stub(sock)
    inc = Incoming(s)
    end = time.time() + float(secs)
    got = 0
    with open(out, "a") as f:
        while got < int(n) and time.time() < end:
            try:
                ev = inc.get(timeout=max(0.1, end - time.time()))
            except queue.Empty:
                break
            f.write(ev.task.task_id + " " + part_text(ev.task.messages[0].parts[0]) + "\n")
            f.flush()
            s.CompleteTask(ns.CompleteTaskRequest(task_id=ev.task.task_id), timeout=30)
            got += 1
    inc.close()
    print(f"served {got}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "two":
        two(*args)
        summary()
    elif cmd == "stream":
        stream(*args)
        summary()
    elif cmd == "badinput":
        badinput(*args)
        summary()
    elif cmd == "send":
        send(*args)
    elif cmd == "serve":
        serve(*args)
    elif cmd == "card":
        stub(args[0]).SetAgentCard(ns.SetAgentCardRequest(card=card(args[1])), timeout=5)
    else:
        sys.exit(2)
