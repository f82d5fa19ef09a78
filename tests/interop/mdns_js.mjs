// mdns_js.mjs: the js-libp2p side of the mDNS interop test (mdns.test.sh).
//
//   node mdns_js.mjs SECONDS
//
// Starts a js-libp2p node (TCP on 127.0.0.1, Noise, yamux, @libp2p/mdns querying every
// second) and prints, one line each, flushed as they happen:
//   self <peer-id> <multiaddr>...            our own id and listen addresses (no /p2p suffix)
//   discovered <peer-id> <multiaddr>...      every peer:discovery event
// then stops the node and exits 0 after SECONDS.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { mdns } from '@libp2p/mdns'

const seconds = Number(process.argv[2] ?? 20)
if (!(seconds > 0)) {
  console.error('usage: node mdns_js.mjs SECONDS')
  process.exit(2)
}

const P2P = 421 // multicodec of /p2p

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  peerDiscovery: [mdns({ interval: 1000 })]
})

const text = (addrs) => addrs.map((ma) => ma.decapsulateCode(P2P).toString()).join(' ')

node.addEventListener('peer:discovery', (evt) => {
  process.stdout.write(`discovered ${evt.detail.id.toString()} ${text(evt.detail.multiaddrs)}\n`)
})
process.stdout.write(`self ${node.peerId.toString()} ${text(node.getMultiaddrs())}\n`)

setTimeout(async () => {
  await node.stop()
  process.exit(0)
}, seconds * 1000)
