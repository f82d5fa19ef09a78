// The HTTP bridge against the official JS A2A SDK (@a2a-js/sdk), both directions.
//
//   node bridge.mjs SOCK BRIDGE_URL [CA_FILE]
//
// SOCK is the daemon's gRPC socket; this process is also the daemon's agent: it subscribes to
// incoming tasks over gRPC and handles them by their text —
//   "echo X"  complete with an artifact holding X      "slow X" WORKING, 150 ms, then like echo
//   "wait"    WORKING and nothing more (to cancel)     "fail"   FailTask("boom")
//   "ask"     INPUT_REQUIRED with a question
// Inbound: the SDK's v1.0 client and its v0.3 transport (LegacyJsonRpcTransport) resolve the
// bridge's card, send (blocking and not), stream, get, cancel and resubscribe.
// Outbound: two SDK servers in this process (one answering message/send only, one streaming);
// the daemon's SendTask(url) must bring their artifacts back to GetTask and
// SubscribeTaskUpdates. Prints "ok <check>" per check, "FAIL <check>: why" on failure; exit 1
// on any failure.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, 'package.json'));
const load = (m) => import(require.resolve(m));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [sock, bridgeUrl] = process.argv.slice(2);
if (!sock || !bridgeUrl) {
	console.error('usage: bridge.mjs SOCK BRIDGE_URL');
	process.exit(2);
}

let failures = 0;
const ok = (what) => console.log('ok ' + what);
const bad = (what, why) => { failures++; console.log(`FAIL ${what}: ${why}`); };
async function check(what, fn) {
	try {
		await fn();
		ok(what);
	} catch (e) {
		bad(what, e?.stack || e);
	}
}
const expect = (cond, why) => { if (!cond) throw new Error(why); };
const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) =>
	setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms))]);

// ---- the daemon over gRPC -----------------------------------------------------------------
const def = protoLoader.loadSync('agentanycast/v1/node_service.proto', {
	includeDirs: [path.join(here, '../../proto'), '/usr/include'],
	keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const NodeService = grpc.loadPackageDefinition(def).agentanycast.v1.NodeService;
const D = new NodeService('unix://' + sock, grpc.credentials.createInsecure(), {});
const unary = (m, req, secs = 20) => new Promise((res, rej) =>
	D[m](req, { deadline: Date.now() + secs * 1000 }, (err, r) => (err ? rej(err) : res(r))));
const textOf = (parts) => (parts || []).map((p) => p.text_part?.text ?? '').join('');

await unary('SetAgentCard', { card: { name: 'bridge-test', description: 'handles tasks from HTTP',
	version: '2.0', skills: [{ id: 'echo', description: 'echoes' }] } });

const seenOriginators = [];
const incoming = D.SubscribeIncomingTasks({});
incoming.on('data', (ev) => {
	const t = ev.task;
	seenOriginators.push(t.originator_peer_id);
	const text = textOf(t.messages?.[0]?.parts);
	const id = t.task_id;
	const done = (err) => { if (err) console.error(`handler ${id}: ${err.message}`); };
	const echo = (x) => D.CompleteTask({ task_id: id, artifacts: [{ artifact_id: 'a1', name: 'echo',
		parts: [{ text_part: { text: x } }] }] }, done);
	if (text.startsWith('echo ')) echo(text.slice(5));
	else if (text.startsWith('slow ')) {
		D.UpdateTaskStatus({ task_id: id, status: 'TASK_STATUS_WORKING' }, done);
		setTimeout(() => echo(text.slice(5)), 150);
	} else if (text === 'wait') D.UpdateTaskStatus({ task_id: id, status: 'TASK_STATUS_WORKING' }, done);
	else if (text === 'fail') D.FailTask({ task_id: id, error_message: 'boom' }, done);
	else if (text === 'ask') {
		D.UpdateTaskStatus({ task_id: id, status: 'TASK_STATUS_WORKING' }, done);
		D.UpdateTaskStatus({ task_id: id, status: 'TASK_STATUS_INPUT_REQUIRED', message: { message_id: randomUUID(),
			role: 'MESSAGE_ROLE_AGENT', parts: [{ text_part: { text: 'which one?' } }] } }, done);
	} else D.FailTask({ task_id: id, error_message: 'unknown request ' + text }, done);
});
incoming.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) bad('incoming subscription', e.message); });
await new Promise((r) => setTimeout(r, 200));

// ---- inbound: the SDK as a client of the bridge ---------------------------------------------
const { ClientFactory, Client } = await load('@a2a-js/sdk/client');
const { LegacyJsonRpcTransport } = await load('@a2a-js/sdk/compat/v0_3/client');
const { TaskState, Role } = await load('@a2a-js/sdk');

const part = (text) => ({ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const partText = (p) => (p?.content?.$case === 'text' ? p.content.value : '');
const request = (text, blocking = true, taskId = '') => ({
	tenant: '', metadata: undefined,
	message: { messageId: randomUUID(), contextId: '', taskId, role: Role.ROLE_USER, parts: [part(text)],
		metadata: undefined, extensions: [], referenceTaskIds: [] },
	configuration: { acceptedOutputModes: ['text/plain'], taskPushNotificationConfig: undefined,
		returnImmediately: !blocking },
});

async function inbound(label, c) {
	await check(`${label}: blocking send completes with the artifact`, async () => {
		const t = await withTimeout(c.sendMessage(request('echo hello ' + label)), 10000, 'sendMessage');
		expect(t?.status?.state === TaskState.TASK_STATE_COMPLETED, 'state ' + JSON.stringify(t?.status));
		expect(t.artifacts?.length === 1 && partText(t.artifacts[0].parts[0]) === 'hello ' + label,
			'artifacts ' + JSON.stringify(t.artifacts));
		expect(t.history?.length >= 1 && partText(t.history[0].parts[0]) === 'echo hello ' + label, 'history');
		const g = await c.getTask({ tenant: '', id: t.id, historyLength: undefined });
		expect(g.id === t.id && g.status.state === TaskState.TASK_STATE_COMPLETED, 'getTask ' + JSON.stringify(g.status));
	});
	await check(`${label}: slow task — blocking send waits through WORKING`, async () => {
		const t = await withTimeout(c.sendMessage(request('slow later')), 10000, 'sendMessage');
		expect(t?.status?.state === TaskState.TASK_STATE_COMPLETED, 'state ' + JSON.stringify(t?.status));
	});
	await check(`${label}: non-blocking send returns at once, getTask sees completion`, async () => {
		const t = await c.sendMessage(request('slow nb', false));
		expect(t.status.state === TaskState.TASK_STATE_SUBMITTED, 'state ' + t.status.state);
		let g;
		for (let i = 0; i < 50; i++) {
			g = await c.getTask({ tenant: '', id: t.id, historyLength: undefined });
			if (g.status.state === TaskState.TASK_STATE_COMPLETED) break;
			await new Promise((r) => setTimeout(r, 50));
		}
		expect(g.status.state === TaskState.TASK_STATE_COMPLETED && g.artifacts.length === 1, 'final ' + JSON.stringify(g.status));
	});
	await check(`${label}: stream — task, WORKING, artifact, COMPLETED`, async () => {
		const kinds = [];
		let art = '';
		for await (const ev of c.sendMessageStream(request('slow streamed'))) {
			const k = ev.payload?.$case ?? ev.kind ?? Object.keys(ev)[0];
			const v = ev.payload?.value ?? ev;
			if (k === 'statusUpdate') kinds.push('status:' + v.status.state);
			else if (k === 'artifactUpdate') { kinds.push('artifact'); art = partText(v.artifact.parts[0]); }
			else kinds.push(k);
		}
		const want = ['task', `status:${TaskState.TASK_STATE_WORKING}`, 'artifact', `status:${TaskState.TASK_STATE_COMPLETED}`];
		expect(JSON.stringify(kinds) === JSON.stringify(want), 'events ' + JSON.stringify(kinds));
		expect(art === 'streamed', 'artifact text ' + art);
	});
	await check(`${label}: cancel a working task`, async () => {
		const t = await c.sendMessage(request('wait', false));
		await new Promise((r) => setTimeout(r, 100));
		const x = await c.cancelTask({ tenant: '', id: t.id, metadata: undefined });
		expect(x.status.state === TaskState.TASK_STATE_CANCELED, 'state ' + x.status.state);
		let err = null;
		try { await c.cancelTask({ tenant: '', id: t.id, metadata: undefined }); } catch (e) { err = e; }
		expect(err && /cancel/i.test(String(err.message)), 'second cancel: ' + err);
	});
	await check(`${label}: resubscribe follows a task to its end`, async () => {
		const t = await c.sendMessage(request('slow resub', false));
		const kinds = [];
		for await (const ev of c.resubscribeTask({ tenant: '', id: t.id }))
			kinds.push(ev.payload?.$case ?? Object.keys(ev)[0]);
		expect(kinds[0] === 'task' && kinds.at(-1) === 'statusUpdate', 'events ' + JSON.stringify(kinds));
	});
	await check(`${label}: failed and input-required tasks`, async () => {
		const f = await c.sendMessage(request('fail'));
		expect(f.status.state === TaskState.TASK_STATE_FAILED, 'fail state ' + f.status.state);
		const a = await c.sendMessage(request('ask'));
		expect(a.status.state === TaskState.TASK_STATE_INPUT_REQUIRED, 'ask state ' + a.status.state);
		expect(partText(a.status.message?.parts?.[0]) === 'which one?', 'question ' + JSON.stringify(a.status.message));
	});
	await check(`${label}: unknown task → task not found error`, async () => {
		let err = null;
		try { await c.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined }); } catch (e) { err = e; }
		expect(err && /not found/i.test(String(err.message)), 'error ' + err);
	});
}

const factory = new ClientFactory();
let v1;
await check('v1.0: card resolved from /.well-known/agent-card.json', async () => {
	v1 = await factory.createFromUrl(bridgeUrl);
	const card = await v1.getAgentCard();
	expect(card.name === 'bridge-test' && card.capabilities?.streaming === true, 'card ' + JSON.stringify(card).slice(0, 300));
	expect(card.skills?.[0]?.id === 'echo', 'skills ' + JSON.stringify(card.skills));
});
if (v1) await inbound('v1.0', v1);

const cardRes = await fetch(bridgeUrl + '/.well-known/agent-card.json');
const legacyCard = await cardRes.json();
await check('v0.3: card has url, preferredTransport and protocolVersion 0.3', async () => {
	expect(legacyCard.protocolVersion === '0.3' && legacyCard.preferredTransport === 'JSONRPC' && legacyCard.url,
		JSON.stringify(legacyCard).slice(0, 300));
});
const v03 = new Client(new LegacyJsonRpcTransport({ endpoint: legacyCard.url }), legacyCard);
await inbound('v0.3', v03);

await check('bridge tasks reach the agent with originator http-bridge', async () => {
	expect(seenOriginators.length >= 10 && seenOriginators.every((o) => o === 'http-bridge'),
		JSON.stringify([...new Set(seenOriginators)]));
});

await check('legacy tasks/send (REFERENCE F.3) answers in its own shape', async () => {
	const res = await fetch(bridgeUrl + '/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ jsonrpc: '2.0', id: 42, method: 'tasks/send', params: { id: 'legacy-1',
			message: { role: 'user', parts: [{ type: 'text', text: 'echo old' }] } } }) });
	const j = await res.json();
	expect(j.id === 42 && j.result?.id === 'legacy-1' && j.result.status === 'completed', JSON.stringify(j));
	const a = j.result.artifacts?.[0];
	expect(a?.artifact_id === 'a1' && a.parts?.[0]?.type === 'text' && a.parts[0].text === 'old', JSON.stringify(j.result));
});

// ---- outbound: SendTask(url) to SDK servers ------------------------------------------------
const express = (await load('express')).default;
const { DefaultRequestHandler, InMemoryTaskStore } = await load('@a2a-js/sdk/server');
const { jsonRpcHandler, agentCardHandler, UserBuilder } = await load('@a2a-js/sdk/server/express');

function startAgent(streaming) {
	const executor = {
		async execute(ctx, bus) {
			const base = { taskId: ctx.taskId, contextId: ctx.contextId };
			const said = partText(ctx.userMessage.parts[0]);
			bus.publish({ kind: 'task', data: { id: ctx.taskId, contextId: ctx.contextId, artifacts: [],
				history: [ctx.userMessage], metadata: undefined,
				status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: undefined } } });
			bus.publish({ kind: 'statusUpdate', data: { ...base, metadata: undefined,
				status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() } } });
			await new Promise((r) => setTimeout(r, 300));
			bus.publish({ kind: 'artifactUpdate', data: { ...base, append: false, lastChunk: true, metadata: undefined,
				artifact: { artifactId: 'r1', name: 'reply', description: '', parts: [part('got ' + said)], metadata: undefined, extensions: [] } } });
			bus.publish({ kind: 'statusUpdate', data: { ...base, metadata: undefined,
				status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: new Date().toISOString() } } });
			bus.finished();
		},
		async cancelTask() {},
	};
	const app = express();
	return new Promise((resolve) => {
		const srv = app.listen(0, '127.0.0.1', () => {
			const url = `http://127.0.0.1:${srv.address().port}`;
			const card = {
				name: streaming ? 'streamer' : 'blocker', description: 'test agent', version: '1.0',
				supportedInterfaces: [{ url: url + '/a2a', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
				provider: undefined, capabilities: { streaming, pushNotifications: false, extensions: [] },
				securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
				defaultOutputModes: ['text/plain'], skills: [], signatures: [],
			};
			const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
			app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
			app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
			resolve({ url, srv });
		});
	});
}

async function followToEnd(id) {
	return new Promise((resolve, reject) => {
		const sub = D.SubscribeTaskUpdates({ task_id: id });
		let finished = false;
		const end = (v, e) => { if (finished) return; finished = true; clearInterval(poll); sub.cancel(); e ? reject(e) : resolve(v); };
		sub.on('data', () => {});
		sub.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) end(null, e); });
		const poll = setInterval(async () => {
			try {
				const g = await unary('GetTask', { task_id: id });
				if (/COMPLETED|FAILED|CANCELED|REJECTED/.test(g.task.status)) end(g.task);
			} catch (e) { end(null, e); }
		}, 100);
		setTimeout(() => end(null, new Error('no final state in 15 s')), 15000);
	});
}

for (const streaming of [false, true]) {
	const label = streaming ? 'streaming agent' : 'blocking agent';
	const { url, srv } = await startAgent(streaming);
	await check(`outbound SendTask(url) to a ${label} completes with its artifact`, async () => {
		const r = await unary('SendTask', { url, message: { message_id: randomUUID(), role: 'MESSAGE_ROLE_USER',
			parts: [{ text_part: { text: 'ping ' + label } }] } });
		expect(r.task?.task_id, 'no task');
		const t = await followToEnd(r.task.task_id);
		expect(t.status === 'TASK_STATUS_COMPLETED', 'status ' + t.status);
		expect(textOf(t.artifacts?.[0]?.parts) === 'got ping ' + label, 'artifacts ' + JSON.stringify(t.artifacts));
	});
	srv.close();
}
// CancelTask on a task sent with url reaches the HTTP agent (tasks/cancel or CancelTask).
function startSlowAgent(streaming) {
	const cancelled = new Set();
	const wake = new Map();
	const contexts = new Map();
	const executor = {
		async execute(ctx, bus) {
			contexts.set(ctx.taskId, ctx.contextId);
			bus.publish({ kind: 'task', data: { id: ctx.taskId, contextId: ctx.contextId, artifacts: [],
				history: [ctx.userMessage], metadata: undefined,
				status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: undefined } } });
			bus.publish({ kind: 'statusUpdate', data: { taskId: ctx.taskId, contextId: ctx.contextId, metadata: undefined,
				status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: new Date().toISOString() } } });
			await new Promise((r) => { wake.set(ctx.taskId, r); setTimeout(r, 10000); });
		},
		async cancelTask(taskId, bus) {
			cancelled.add(taskId);
			bus.publish({ kind: 'statusUpdate', data: { taskId, contextId: contexts.get(taskId), metadata: undefined,
				status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() } } });
			bus.finished();
			wake.get(taskId)?.();
		},
	};
	const app = express();
	return new Promise((resolve) => {
		const srv = app.listen(0, '127.0.0.1', () => {
			const url = `http://127.0.0.1:${srv.address().port}`;
			const card = {
				name: 'slow', description: 'waits to be cancelled', version: '1.0',
				supportedInterfaces: [{ url: url + '/a2a', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
				provider: undefined, capabilities: { streaming, pushNotifications: false, extensions: [] },
				securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
				defaultOutputModes: ['text/plain'], skills: [], signatures: [],
			};
			const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
			app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
			app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
			resolve({ url, srv, cancelled });
		});
	});
}

for (const streaming of [false, true]) {
	const label = streaming ? 'streaming agent' : 'blocking agent';
	const { url, srv, cancelled } = await startSlowAgent(streaming);
	await check(`CancelTask on a SendTask(url) task reaches the ${label}`, async () => {
		const r = await unary('SendTask', { url, message: { message_id: randomUUID(), role: 'MESSAGE_ROLE_USER',
			parts: [{ text_part: { text: 'take your time' } }] } });
		const id = r.task?.task_id;
		expect(id, 'no task');
		for (let i = 0; i < 50; i++) {
			const g = await unary('GetTask', { task_id: id });
			if (g.task.status === 'TASK_STATUS_WORKING') break;
			await new Promise((res) => setTimeout(res, 100));
		}
		const c = await unary('CancelTask', { task_id: id });
		expect(c.task?.status === 'TASK_STATUS_CANCELED', 'local status ' + c.task?.status);
		for (let i = 0; i < 50 && !cancelled.size; i++)
			await new Promise((res) => setTimeout(res, 100));
		expect(cancelled.has(id), 'the agent saw cancels for ' + JSON.stringify([...cancelled]) + ', not ' + id);
		const g = await unary('GetTask', { task_id: id });
		expect(g.task.status === 'TASK_STATUS_CANCELED', 'local status afterwards ' + g.task.status);
	});
	srv.close();
}
await check('outbound SendTask(url) to nobody → UNAVAILABLE', async () => {
	let err = null;
	try {
		await unary('SendTask', { url: 'http://127.0.0.1:9/', message: { message_id: 'x', role: 'MESSAGE_ROLE_USER',
			parts: [{ text_part: { text: 'hi' } }] } });
	} catch (e) { err = e; }
	expect(err && err.code === grpc.status.UNAVAILABLE, 'got ' + (err ? err.code + ' ' + err.message : 'success'));
});
await check('outbound SendTask(url) with a bad url → INVALID_ARGUMENT', async () => {
	let err = null;
	try {
		await unary('SendTask', { url: 'ftp://example/', message: { message_id: 'x', role: 'MESSAGE_ROLE_USER', parts: [] } });
	} catch (e) { err = e; }
	expect(err && err.code === grpc.status.INVALID_ARGUMENT, 'got ' + (err ? err.code : 'success'));
});

incoming.cancel();
D.close();
console.log(failures ? `${failures} failed` : 'all passed');
process.exit(failures ? 1 : 0);
