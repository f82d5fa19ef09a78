"""proto_compat.py: the Python half of proto_compat.test.sh.

Uses the stubs tests/rpc/gen_python_stubs.sh generates from our agentanycast.v1 protos (on
PYTHONPATH), i.e. the protobuf runtime the official Python SDK runs on, and checks them
against protobuf-c's view of the same bytes (tests/tools/aa-pbcheck.c).

  proto_compat.py encode OUTDIR
      Builds the Python sample messages; for each writes OUTDIR/py_<case>.bin (encoded) and
      OUTDIR/py_<case>.dump (its field listing) and prints "<case> <Type>".
  proto_compat.py check CASE TYPE FILE CDUMP
      Decodes FILE (written by aa-pbcheck encode CASE) as TYPE, asserts the values the C
      sample was built with, and compares the field listing with CDUMP (aa-pbcheck decode
      of the same file).

The field listing is the one aa-pbcheck documents: "path=value" per set field.
"""
import difflib
import os
import sys

from google.protobuf import descriptor as _d
from google.protobuf import json_format

from agentanycast.v1 import (a2a_models_pb2 as a2a, agent_card_pb2 as card_pb,
                             common_pb2 as common, federation_pb2 as fed,
                             node_service_pb2 as ns, registry_service_pb2 as reg,
                             streaming_pb2 as st)

MODULES = (a2a, card_pb, common, fed, ns, reg, st)


def message_class(name):
    for m in MODULES:
        if hasattr(m, name):
            return getattr(m, name)
    raise SystemExit("unknown type " + name)


# --- the field listing --------------------------------------------------------------------

def esc(s):
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else "\\x%02x" % b
                   for b in s.encode("utf-8"))


def scalar(fd, v):
    if fd.type == _d.FieldDescriptor.TYPE_STRING:
        return esc(v)
    if fd.type == _d.FieldDescriptor.TYPE_BYTES:
        return "0x" + v.hex()
    if fd.type == _d.FieldDescriptor.TYPE_BOOL:
        return "1" if v else "0"
    if fd.type == _d.FieldDescriptor.TYPE_DOUBLE:
        return "%.17g" % v
    if fd.type == _d.FieldDescriptor.TYPE_FLOAT:
        return "%.9g" % v
    return str(int(v))


def dump(msg, prefix="", out=None):
    out = [] if out is None else out

    def value(fd, v, path):
        if fd.message_type is not None:
            out.append(path + "=<msg>")
            dump(v, path + ".", out)
        else:
            out.append(path + "=" + scalar(fd, v))

    for fd, v in msg.ListFields():
        path = prefix + fd.name
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            vfd = fd.message_type.fields_by_name["value"]
            for k in sorted(v.keys()):
                value(vfd, v[k], "%s{%s}" % (path, esc(k)))
        elif fd.label == _d.FieldDescriptor.LABEL_REPEATED:
            for i, e in enumerate(v):
                value(fd, e, "%s[%d]" % (path, i))
        else:
            value(fd, v, path)
    return out


# --- Python samples (Python encodes, C decodes) -------------------------------------------

def py_message(mid):
    m = a2a.Message(message_id=mid, role=a2a.MESSAGE_ROLE_USER)
    m.created_at.FromMilliseconds(1700000000123)
    p = m.parts.add(media_type="text/markdown")
    p.text_part.text = "grüß dich \U0001F600"
    p.metadata["source"] = "py"
    d = m.parts.add()
    d.data_part.data.update({"n": 3.5, "s": "x", "b": False, "z": None,
                             "l": [1, "two", {"k": True}], "o": {"inner": -1}})
    u = m.parts.add()
    u.url_part.url = "https://example.org/a"
    r = m.parts.add()
    r.raw_part.data = bytes(range(0, 256, 51))
    r.raw_part.filename = "r.bin"
    return m


def py_task():
    t = a2a.Task(task_id="py-task-1", context_id="py-ctx", status=a2a.TASK_STATUS_WORKING,
                 target_skill_id="summarize", originator_peer_id="12D3KooWPy")
    t.messages.append(py_message("py-msg-1"))
    a = t.artifacts.add(artifact_id="py-art", name="summary")
    a.parts.add().text_part.text = "short"
    t.created_at.FromMilliseconds(1700000000000)
    t.updated_at.FromMilliseconds(1700000005000)
    return t


def py_card():
    c = card_pb.AgentCard(name="py-agent", description="made by Python", version="0.9",
                          protocol_version="a2a/0.3")
    c.skills.add(id="summarize", description="Summarizes", input_schema="{}",
                 output_schema='{"type":"string"}')
    x = c.p2p_extension
    x.peer_id = "12D3KooWPy"
    x.supported_transports.extend(["tcp", "quic", "webtransport"])
    x.relay_addresses.append("/dns4/relay.example/tcp/4001/p2p/12D3KooWR")
    x.did_key = "did:key:z6MkPy"
    x.did_web = "did:web:py.example"
    x.did_dns = "py.example"
    x.verifiable_credentials.extend(["vc-a", "vc-b"])
    return c


def envelope(typ):
    e = a2a.A2AEnvelope(envelope_id="py-env-1", type=typ)
    e.timestamp.FromMilliseconds(1700000000999)
    return e


def py_cases():
    cases = {}
    e = envelope(a2a.ENVELOPE_TYPE_SEND_TASK)
    e.send_task.task_id = "py-task-1"
    e.send_task.message.CopyFrom(py_message("py-msg-1"))
    e.send_task.target_skill_id = "summarize"
    e.trace_parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    cases["envelope_send_task"] = e

    e = envelope(a2a.ENVELOPE_TYPE_ACK)
    e.ack.acknowledged_envelope_id = "c-env-1"
    cases["envelope_ack"] = e

    e = envelope(a2a.ENVELOPE_TYPE_TASK_CANCEL)
    e.task_cancel.task_id = "py-task-1"
    cases["envelope_task_cancel"] = e

    e = envelope(a2a.ENVELOPE_TYPE_GET_TASK_RESPONSE)
    e.get_task_response.task.CopyFrom(py_task())
    cases["envelope_get_task_response"] = e

    e = envelope(a2a.ENVELOPE_TYPE_STREAM_START)
    e.stream_start.task_id = "py-task-1"
    e.stream_start.total_chunks = 2
    e.stream_start.metadata["k"] = "v"
    cases["envelope_stream_start"] = e

    e = envelope(a2a.ENVELOPE_TYPE_STREAM_END)
    e.stream_end.reason = st.STREAM_END_REASON_COMPLETE
    cases["envelope_stream_end"] = e

    cases["card"] = py_card()
    cases["task"] = py_task()

    for target, val in (("peer_id", "12D3KooWTarget"), ("skill_id", "summarize"),
                        ("url", "https://agent.example/a2a")):
        r = ns.SendTaskRequest(transport_hint="auto")
        setattr(r, target, val)
        r.message.CopyFrom(py_message("py-msg-2"))
        r.metadata["trace"] = "on"
        cases["send_task_" + target.split("_")[0]] = r

    r = ns.SubscribeTaskStreamResponse()
    r.stream_chunk.task_id = "py-task-1"
    r.stream_chunk.artifact_id = "py-art"
    r.stream_chunk.sequence = 2147483647
    r.stream_chunk.data = b"\xff\x00chunk"
    r.stream_chunk.is_last = False
    cases["stream_chunk"] = r

    r = ns.SendStreamingArtifactRequest()
    r.stream_end.task_id = "py-task-1"
    r.stream_end.reason = st.STREAM_END_REASON_CANCELED
    cases["send_streaming_end"] = r

    r = ns.SubscribeIncomingTasksResponse()
    r.task.CopyFrom(py_task())
    r.sender_card.CopyFrom(py_card())
    cases["incoming"] = r

    r = ns.SubscribeTaskUpdatesResponse(task_id="py-task-1", status=a2a.TASK_STATUS_FAILED)
    r.message.parts.add().text_part.text = "failed: reason"
    r.artifacts.add(artifact_id="a1")
    cases["updates"] = r

    r = ns.GetNodeInfoResponse()
    n = r.node_info
    n.peer_id = "12D3KooWNode"
    n.listen_addresses.extend(["/ip4/10.0.0.1/tcp/4001", "/ip4/10.0.0.1/udp/4001/quic-v1"])
    n.nat_type = common.NAT_TYPE_PRIVATE
    n.connected_peers = 12
    n.started_at.FromMilliseconds(1699999999000)
    n.version = "0.1.0"
    cases["node_info"] = r

    r = ns.ConnectPeerResponse()
    r.peer_info.peer_id = "12D3KooWPeer"
    r.peer_info.addresses.append("/ip4/1.2.3.4/tcp/1/p2p/12D3KooWR/p2p-circuit")
    r.peer_info.connection_type = common.CONNECTION_TYPE_RELAY
    r.peer_info.connected_at.FromMilliseconds(1700000001000)
    cases["connect_peer"] = r

    r = ns.StartNodeRequest(relay="/ip4/1.2.3.4/tcp/4001", key_path="/k", grpc_listen="unix:///s",
                            log_level="debug", transport="nats://h:4222", namespace="team-a")
    r.card.name = "x"
    cases["start_node"] = r

    r = ns.CompleteTaskRequest(task_id="py-task-1")
    r.artifacts.add(artifact_id="a", name="n").parts.add().text_part.text = "t"
    cases["complete_task"] = r

    r = ns.UpdateTaskStatusRequest(task_id="py-task-1", status=a2a.TASK_STATUS_WORKING)
    cases["update_status"] = r

    r = reg.RegisterSkillsRequest(peer_id="12D3KooWReg", agent_name="r", agent_description="d")
    s = r.skills.add(skill_id="summarize", description="Summarizes")
    s.tags["lang"] = "en"
    cases["register_skills"] = r

    r = reg.DiscoverBySkillResponse()
    a = r.agents.add(peer_id="12D3KooWReg", agent_name="r")
    a.skills.add(skill_id="summarize").tags["tier"] = "gold"
    a.registered_at.FromMilliseconds(1000)
    a.expires_at.FromMilliseconds(31000)
    cases["discover_by_skill"] = r

    r = common.ErrorDetail(code="E_X", message="bad")
    r.metadata["field"] = "task_id"
    cases["error_detail"] = r
    return cases


def cmd_encode(outdir):
    for name, msg in py_cases().items():
        with open(os.path.join(outdir, "py_%s.bin" % name), "wb") as f:
            f.write(msg.SerializeToString())
        with open(os.path.join(outdir, "py_%s.dump" % name), "w") as f:
            f.write("\n".join(dump(msg)) + "\n")
        print(name, msg.DESCRIPTOR.name)


# --- checks of the C samples (C encodes, Python decodes) ----------------------------------

def check_sample_message(m, mid):
    assert m.message_id == mid
    assert m.role == a2a.MESSAGE_ROLE_AGENT
    assert m.created_at.ToMilliseconds() == 1712345678901
    assert [p.WhichOneof("content") for p in m.parts] == \
        ["text_part", "data_part", "url_part", "raw_part"]
    t = m.parts[0]
    assert t.text_part.text == "hello, wörld" and t.media_type == "text/plain"
    assert dict(t.metadata) == {"lang": "en", "z-key": "last"}
    assert m.parts[1].media_type == "application/json"
    d = json_format.MessageToDict(m.parts[1].data_part.data)
    assert d == {"num": -2.25, "str": "snöw ☃", "flag": True, "none": None,
                       "list": [1.0, "x"], "obj": {"deep": False}}, d
    assert m.parts[2].url_part.url == "https://example.com/report.pdf"
    assert m.parts[2].url_part.filename == "report.pdf"
    assert m.parts[3].raw_part.data == b"\x00\x80\xff"
    assert m.parts[3].raw_part.filename == "blob.bin"


def check_artifact(a):
    assert a.artifact_id == "art-1" and a.name == "result"
    assert len(a.parts) == 1 and a.parts[0].text_part.text == "done"


def check_card(c):
    assert c.name == "c-agent ☃" and c.description == "made by C"
    assert c.version == "1.2.3" and c.protocol_version == "a2a/0.3"
    assert len(c.skills) == 1
    s = c.skills[0]
    assert (s.id, s.description) == ("translate", "Translates text")
    assert s.input_schema == '{"type":"object"}' and s.output_schema == '{"type":"string"}'
    x = c.p2p_extension
    assert x.peer_id == "12D3KooWC"
    assert list(x.supported_transports) == ["tcp", "quic"]
    assert list(x.relay_addresses) == ["/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWRelay"]
    assert (x.did_key, x.did_web, x.did_dns) == ("did:key:z6MkC", "did:web:c.example",
                                                 "c.example")
    assert list(x.verifiable_credentials) == ["vc-1"]


def check_task(t):
    assert t.task_id == "c-task-1" and t.context_id == "ctx-1"
    assert t.status == a2a.TASK_STATUS_REJECTED
    assert len(t.messages) == 1
    check_sample_message(t.messages[0], "c-msg-1")
    assert len(t.artifacts) == 1
    check_artifact(t.artifacts[0])
    assert (t.created_at.seconds, t.created_at.nanos) == (-2, 500000000)
    assert t.created_at.ToMilliseconds() == -1500
    assert t.updated_at.ToMilliseconds() == 1712345679000
    assert t.target_skill_id == "translate" and t.originator_peer_id == "local"


def check_envelope(e, typ, payload):
    assert e.envelope_id == "c-env-1"
    assert e.type == typ, e.type
    assert e.timestamp.ToMilliseconds() == 1712345678901
    assert e.WhichOneof("payload") == payload, e.WhichOneof("payload")


def check_send_request(r, target, value):
    assert r.WhichOneof("target") == target, r.WhichOneof("target")
    assert getattr(r, target) == value
    check_sample_message(r.message, "c-msg-3")
    assert dict(r.metadata) == {"priority": "high", "a\\b": ""}
    assert r.transport_hint == "libp2p"


def check_skill_info(s):
    assert s.skill_id == "translate" and s.description == "Translates text"
    assert dict(s.tags) == {"lang": "de", "cost": "free"}


def check_case(case, m):
    if case == "envelope_send_task":
        check_envelope(m, a2a.ENVELOPE_TYPE_SEND_TASK, "send_task")
        p = m.send_task
        assert (p.task_id, p.context_id, p.target_skill_id) == ("c-task-1", "ctx-1",
                                                                "translate")
        check_sample_message(p.message, "c-msg-1")
        assert m.trace_parent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        assert m.trace_state == "k=v"
    elif case == "envelope_ack":
        check_envelope(m, a2a.ENVELOPE_TYPE_ACK, "ack")
        assert m.ack.acknowledged_envelope_id == "c-env-0"
        assert m.trace_parent == "" and m.trace_state == ""
    elif case == "envelope_task_complete":
        check_envelope(m, a2a.ENVELOPE_TYPE_TASK_COMPLETE, "task_complete")
        assert m.task_complete.task_id == "c-task-1"
        check_artifact(m.task_complete.artifacts[0])
        check_sample_message(m.task_complete.message, "c-msg-2")
    elif case == "envelope_task_fail":
        check_envelope(m, a2a.ENVELOPE_TYPE_TASK_FAIL, "task_fail")
        assert m.task_fail.task_id == "c-task-1"
        assert m.task_fail.error_message == "boom ✗"
        assert not m.task_fail.HasField("message")
    elif case == "envelope_status_update":
        check_envelope(m, a2a.ENVELOPE_TYPE_TASK_STATUS_UPDATE, "task_status_update")
        u = m.task_status_update
        assert u.task_id == "c-task-1" and u.status == a2a.TASK_STATUS_INPUT_REQUIRED
        assert u.HasField("message") and u.message.role == a2a.MESSAGE_ROLE_USER
    elif case == "envelope_stream_chunk":
        check_envelope(m, a2a.ENVELOPE_TYPE_STREAM_CHUNK, "stream_chunk")
        c = m.stream_chunk
        assert (c.task_id, c.artifact_id, c.sequence) == ("c-task-1", "art-1", -1)
        assert c.data == b"\x00\x01\xfe" and c.is_last is True
    elif case == "card":
        check_card(m)
    elif case == "task":
        check_task(m)
    elif case == "send_task_peer":
        check_send_request(m, "peer_id", "12D3KooWPeer")
    elif case == "send_task_skill":
        check_send_request(m, "skill_id", "translate")
    elif case == "send_task_url":
        check_send_request(m, "url", "")
    elif case == "stream_start":
        assert m.WhichOneof("event") == "stream_start"
        s = m.stream_start
        assert (s.task_id, s.artifact_id, s.artifact_name, s.media_type, s.total_chunks) == \
            ("c-task-1", "art-1", "out.txt", "text/plain", 7)
        assert dict(s.metadata) == {"encoding": "utf-8"}
    elif case == "stream_end":
        assert m.WhichOneof("event") == "stream_end"
        assert m.stream_end.reason == st.STREAM_END_REASON_ERROR
        assert (m.stream_end.task_id, m.stream_end.artifact_id) == ("c-task-1", "art-1")
    elif case == "incoming":
        check_task(m.task)
        check_card(m.sender_card)
    elif case == "updates":
        assert m.task_id == "c-task-1" and m.status == a2a.TASK_STATUS_COMPLETED
        check_sample_message(m.message, "c-msg-4")
        check_artifact(m.artifacts[0])
    elif case == "discover":
        assert len(m.agents) == 1
        a = m.agents[0]
        assert (a.peer_id, a.agent_name, a.agent_description) == ("12D3KooWD", "d-agent",
                                                                  "discovered")
        check_skill_info(a.skills[0])
    elif case == "node_info":
        n = m.node_info
        assert n.peer_id == "12D3KooWSelf"
        assert list(n.listen_addresses) == ["/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001"]
        assert n.nat_type == common.NAT_TYPE_PUBLIC and n.connected_peers == 3
        assert n.started_at.ToMilliseconds() == 1712345600000 and n.version == "0.1.0"
    elif case == "federated":
        assert m.relay_id == "relay-b" and len(m.registrations) == 1
        f = m.registrations[0]
        assert (f.peer_id, f.origin_relay_id, f.agent_name) == ("12D3KooWF", "relay-a",
                                                                "f-agent")
        check_skill_info(f.skills[0])
        assert f.registered_at.ToMilliseconds() == 1000
        assert f.expires_at.ToMilliseconds() == 31000
        assert f.version == 2**64 - 1
    else:
        raise SystemExit("no checks for case " + case)


def cmd_check(case, typ, path, cdump_path):
    msg = message_class(typ)()
    with open(path, "rb") as f:
        data = f.read()
    msg.ParseFromString(data)
    check_case(case, msg)
    mine = sorted(dump(msg))
    with open(cdump_path) as f:
        theirs = sorted(line for line in f.read().split("\n") if line)
    if mine != theirs:
        sys.stderr.writelines(difflib.unified_diff(
            [l + "\n" for l in theirs], [l + "\n" for l in mine], "protobuf-c", "python"))
        raise SystemExit("field listings differ for " + case)


def main(argv):
    if len(argv) == 3 and argv[1] == "encode":
        cmd_encode(argv[2])
    elif len(argv) == 6 and argv[1] == "check":
        cmd_check(*argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
