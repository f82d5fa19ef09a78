// The agent behind the HTTP bridge for bench/run section 7 (issue 5): subscribes to the
// daemon's incoming tasks over gRPC and completes each at once with one artifact — the same
// work as the executor of bench/a2a_http_baseline.mjs — so the baseline's client measures
// the bridge's message/send round trip: HTTP -> bridge -> gRPC handler -> CompleteTask ->
// HTTP reply.
//
//   node bridge_handler.mjs SOCK          prints READY once subscribed; runs until SIGTERM
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/interop/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const sock = process.argv[2];
if (!sock) {
	console.error('usage: bridge_handler.mjs SOCK');
	process.exit(2);
}
const def = protoLoader.loadSync('agentanycast/v1/node_service.proto', {
	includeDirs: [path.join(here, '../proto'), '/usr/include'],
	keepCase: true, longs: String, enums: String, defaults: false, oneofs: true,
});
const NodeService = grpc.loadPackageDefinition(def).agentanycast.v1.NodeService;
const D = new NodeService('unix://' + sock, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
const call = (m, req) => new Promise((res, rej) => D[m](req, (e, r) => (e ? rej(e) : res(r))));

await call('SetAgentCard', { card: { name: 'bench', description: 'completes every task at once', version: '1.0' } });
const artifacts = [{ artifact_id: 'a1', name: 'result', parts: [{ text_part: { text: 'done!' } }] }];
let errors = 0;
const incoming = D.SubscribeIncomingTasks({});
incoming.on('data', (ev) => {
	D.CompleteTask({ task_id: ev.task.task_id, artifacts }, (err) => {
		if (err && errors++ < 5) console.error('CompleteTask: ' + err.message);
	});
});
incoming.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) { console.error(e.message); process.exit(1); } });
setTimeout(() => console.log('READY'), 200);
process.on('SIGTERM', () => process.exit(0));
