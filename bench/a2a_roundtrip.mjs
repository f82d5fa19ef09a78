// A2A task round trip through two agentanycastd daemons (bench/run section 6, issue 4):
// client SendTask on daemon A -> daemon B's handler (SubscribeIncomingTasks) -> CompleteTask on
// B -> A's subscriber (SubscribeTaskUpdates on the task) sees COMPLETED. One process plays both
// the B handler and the A client over the two daemons' gRPC Unix sockets (@grpc/grpc-js, our
// protos loaded at run time by @grpc/proto-loader).
//
//   node a2a_roundtrip.mjs SOCK_A SOCK_B N_LAT N_THR CONCURRENCY
//
// Connects A to B (ConnectPeer), starts the handler on B, warms up, then N_LAT round trips one
// at a time (latency percentiles from the SendTask call to the COMPLETED update) and N_THR with
// CONCURRENCY in flight (tasks/s). Prints one "a2a_grpc ..." line.
//
// The daemon only sends updates to subscriptions that exist when the update happens, and the
// task id is known only once SendTask returns. So the client subscribes right after SendTask and
// then asks GetTask (authoritative) on the same connection: if the task was completed before the
// subscription, GetTask shows it. Should neither answer (the daemon handled GetTask before the
// subscription), a poll after 1 s keeps the run going; such cases are counted in "late=".
//
// The update stream does not end after the terminal status, so the client cancels it
// (RST_STREAM), as the SDKs do. nghttp2's rapid-reset guard used to GOAWAY such a client after
// ~1000 cancels; the daemon now raises that limit (src/rpc/grpc.c). The client still opens a new
// connection every RESETS_PER_CONN tasks (counted in "conns_a=") so it also works against older
// builds; one Unix-socket connect per 900 tasks costs nothing next to the tasks themselves.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [sockA, sockB, nLatS, nThrS, concS] = process.argv.slice(2);
if (!sockA || !sockB) {
	console.error('usage: a2a_roundtrip.mjs SOCK_A SOCK_B N_LAT N_THR CONCURRENCY');
	process.exit(2);
}
const nLat = +nLatS || 1000, nThr = +nThrS || 10000, conc = +concS || 64;

const def = protoLoader.loadSync('agentanycast/v1/node_service.proto', {
	includeDirs: [path.join(here, '../proto'), '/usr/include'],
	keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const NodeService = grpc.loadPackageDefinition(def).agentanycast.v1.NodeService;
// Generous flow-control windows and no per-call retry bookkeeping: we measure the daemon.
const chanOpts = { 'grpc.enable_retries': 0, 'grpc.max_receive_message_length': 16 << 20 };
const RESETS_PER_CONN = 900;
// A's channel; each has its own connection (local subchannel pool), replaced every
// RESETS_PER_CONN tasks. Old ones stay open until the end (their last calls may be running).
const channelsA = [];
let A = null, tasksOnA = 0;
function rotateA() {
	A = new NodeService('unix://' + sockA, grpc.credentials.createInsecure(),
		{ ...chanOpts, 'grpc.use_local_subchannel_pool': 1 });
	channelsA.push(A);
	tasksOnA = 0;
}
rotateA();
const B = new NodeService('unix://' + sockB, grpc.credentials.createInsecure(), chanOpts);

const unary = (c, m, req, secs = 10) => new Promise((res, rej) =>
	c[m](req, { deadline: Date.now() + secs * 1000 }, (err, r) => (err ? rej(err) : res(r))));
const textPart = (text) => ({ text_part: { text } });
const TERMINAL = new Set(['TASK_STATUS_COMPLETED', 'TASK_STATUS_FAILED', 'TASK_STATUS_CANCELED', 'TASK_STATUS_REJECTED']);

function fail(what) {
	console.error('a2a_roundtrip: ' + what);
	process.exit(1);
}

// ---- set-up -------------------------------------------------------------------------------
const ia = (await unary(A, 'GetNodeInfo', {})).node_info;
const ib = (await unary(B, 'GetNodeInfo', {})).node_info;
await unary(A, 'SetAgentCard', { card: { name: 'alpha', description: 'bench client', version: '1.0' } });
await unary(B, 'SetAgentCard', { card: { name: 'beta', description: 'bench handler', version: '1.0' } });
const addrs = ib.listen_addresses.filter((x) => x.includes('/127.0.0.1/')).map((x) => x.split('/p2p/')[0]);
await unary(A, 'ConnectPeer', { peer_id: ib.peer_id, addresses: addrs });

// ---- B: the handler -----------------------------------------------------------------------
let handled = 0, handlerErrors = 0;
const artifacts = [{ artifact_id: 'a1', name: 'result', parts: [textPart('done!')] }];
const incoming = B.SubscribeIncomingTasks({});
incoming.on('data', (ev) => {
	handled++;
	B.CompleteTask({ task_id: ev.task.task_id, artifacts }, (err) => {
		if (err) {
			handlerErrors++;
			console.error('CompleteTask: ' + err.message);
		}
	});
});
incoming.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) fail('SubscribeIncomingTasks: ' + e.message); });
await new Promise((r) => setTimeout(r, 200)); // the subscription is live before the first task

// ---- A: one round trip --------------------------------------------------------------------
let late = 0, seq = 0;
const sendReq = () => ({ peer_id: ib.peer_id, message: { message_id: `m${++seq}`, role: 'MESSAGE_ROLE_USER', parts: [textPart('hello')] } });

function roundTrip() {
	if (++tasksOnA > RESETS_PER_CONN) rotateA();
	const A_ = A; // SendTask, the subscription and GetTask on one connection, in that order
	return new Promise((resolve, reject) => {
		A_.SendTask(sendReq(), { deadline: Date.now() + 30000 }, (err, r) => {
			if (err) return reject(new Error('SendTask: ' + err.message));
			const id = r.task.task_id;
			let done = false, timer = null;
			const sub = A_.SubscribeTaskUpdates({ task_id: id });
			const finish = (status, nart, how) => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				sub.cancel();
				if (status !== 'TASK_STATUS_COMPLETED' || nart !== 1)
					return reject(new Error(`task ${id} ended ${status} with ${nart} artifacts (${how})`));
				resolve();
			};
			sub.on('data', (ev) => { if (TERMINAL.has(ev.status)) finish(ev.status, (ev.artifacts || []).length, 'update'); });
			sub.on('error', (e) => { if (!done && e.code !== grpc.status.CANCELLED) { done = true; clearTimeout(timer); reject(new Error('SubscribeTaskUpdates: ' + e.message)); } });
			const check = (how) => A_.GetTask({ task_id: id }, (e2, g) => {
				if (done) return;
				if (e2) { done = true; sub.cancel(); return reject(new Error('GetTask: ' + e2.message)); }
				if (TERMINAL.has(g.task.status)) {
					if (how === 'poll') late++;
					finish(g.task.status, (g.task.artifacts || []).length, how);
				} else if (how === 'poll') {
					timer = setTimeout(() => check('poll'), 1000);
				}
			});
			check('get');
			timer = setTimeout(() => check('poll'), 1000);
		});
	});
}

async function run(n, c) {
	let next = 0;
	const worker = async () => { while (next < n) { next++; await roundTrip(); } };
	await Promise.all(Array.from({ length: c }, worker));
}

const hr = () => process.hrtime.bigint();
try {
	await run(300, 1);  // warm-up: JIT, store pages, connections
	await run(1000, conc);
	const lat = [];
	for (let i = 0; i < nLat; i++) {
		const t0 = hr();
		await roundTrip();
		lat.push(Number(hr() - t0) / 1000);
	}
	lat.sort((a, b) => a - b);
	const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
	const t0 = hr();
	await run(nThr, conc);
	const secs = Number(hr() - t0) / 1e9;
	console.log(`a2a_grpc n_lat=${nLat} p50_us=${pct(50).toFixed(0)} p90_us=${pct(90).toFixed(0)} p99_us=${pct(99).toFixed(0)} ` +
		`n=${nThr} concurrency=${conc} tasks_per_s=${(nThr / secs).toFixed(0)} secs=${secs.toFixed(2)} ` +
		`handled=${handled} handler_errors=${handlerErrors} late=${late} conns_a=${channelsA.length} a=${ia.peer_id.slice(-6)} b=${ib.peer_id.slice(-6)}`);
} catch (e) {
	fail(e.message);
}
incoming.cancel();
for (const c of channelsA) c.close();
B.close();
process.exit(0);
