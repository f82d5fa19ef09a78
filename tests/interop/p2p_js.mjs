// p2p_js.mjs: a js-libp2p 3.x peer (TCP + Noise + yamux + identify + ping) for interop tests.
//   node p2p_js.mjs listen                     serve /echo/1.0.0 and ping; print PEER_ID=,
//                                              LISTEN_ADDR=; run until SIGTERM
//   node p2p_js.mjs identify MA                 dial, print the remote's identify, ping once
//   node p2p_js.mjs dial MA PINGS BYTES STREAMS  connect, ping, echo BYTES on STREAMS streams
//                                              (same byte pattern as tests/tools/aa-p2p.c)
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const ECHO = '/echo/1.0.0'
const [mode, ...args] = process.argv.slice(2)

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), identifyPush: identifyPush(), ping: ping() }
})

const bytesOf = (chunk) => chunk.subarray ? chunk.subarray() : chunk

// Same pattern as aa-p2p.c: x = (i + 1) * 0x9e3779b97f4a7c15 ^ (k << 32); byte = x >> 29.
const M64 = (1n << 64n) - 1n
function pattern (k, start, n) {
  const out = new Uint8Array(n)
  for (let j = 0; j < n; j++) {
    const i = BigInt(start + j)
    const x = (((i + 1n) * 0x9e3779b97f4a7c15n) & M64) ^ (BigInt(k) << 32n)
    out[j] = Number((x >> 29n) & 0xffn)
  }
  return out
}

if (mode === 'listen') {
  await node.handle(ECHO, async (stream) => {
    for await (const chunk of stream) {
      if (!stream.send(bytesOf(chunk))) await stream.onDrain()
    }
    await stream.close()
  }, { maxInboundStreams: 64 })
  console.log(`PEER_ID=${node.peerId}`)
  for (const ma of node.getMultiaddrs()) console.log(`LISTEN_ADDR=${ma}`)
  node.addEventListener('peer:identify', (evt) => {
    const d = evt.detail
    console.log(`IDENTIFY peer=${d.peerId} agent=${d.agentVersion} protocol=${d.protocolVersion} ` +
      `protocols=${d.protocols.join(',')} listen=${d.listenAddrs.map(String).join(',')} ` +
      `signed=${d.signedPeerRecord != null}`)
  })
  // Once a peer has identified us, change our protocols so js sends it an identify push.
  let lateRegistered = false
  node.addEventListener('peer:identify', () => {
    if (lateRegistered) return
    lateRegistered = true
    setTimeout(() => { node.handle('/late/1.0.0', (s) => s.abort(new Error('unused'))).catch(() => {}) }, 300)
  })
  // Identify push lands in the peer store: report address updates.
  node.addEventListener('peer:update', (evt) => {
    const p = evt.detail.peer
    console.log(`PEER_UPDATE peer=${p.id} addrs=${p.addresses.map(a => String(a.multiaddr)).join(',')}`)
  })
  process.on('SIGTERM', async () => { await node.stop(); process.exit(0) })
} else if (mode === 'identify') {
  // Dial, wait for identify to finish, print what the remote said, ping once.
  const ma = multiaddr(args[0])
  const identified = new Promise((resolve) => node.addEventListener('peer:identify', (e) => resolve(e.detail), { once: true }))
  await node.dial(ma, { signal: AbortSignal.timeout(10000) })
  const d = await Promise.race([identified, new Promise((_, reject) => setTimeout(() => reject(new Error('identify timeout')), 10000))])
  console.log(`IDENTIFY peer=${d.peerId} agent=${d.agentVersion} protocol=${d.protocolVersion} ` +
    `protocols=${d.protocols.join(',')} listen=${d.listenAddrs.map(String).join(',')} ` +
    `signed=${d.signedPeerRecord != null}`)
  const rtt = await node.services.ping.ping(ma, { signal: AbortSignal.timeout(10000) })
  console.log(`ping rtt_ms=${rtt}`)
  await node.stop()
  process.exit(0)
} else if (mode === 'dial') {
  const [ma, pings, bytes, streams] = [multiaddr(args[0]), Number(args[1]), Number(args[2]), Number(args[3])]
  const conn = await node.dial(ma, { signal: AbortSignal.timeout(10000) })
  console.log(`connected ${conn.remotePeer}`)
  for (let i = 0; i < pings; i++) {
    const rtt = await node.services.ping.ping(ma, { signal: AbortSignal.timeout(10000) })
    console.log(`ping rtt_ms=${rtt}`)
  }
  if (bytes > 0) {
    const CHUNK = 65536
    await Promise.all(Array.from({ length: streams }, async (_, k) => {
      const s = await conn.newStream(ECHO, { signal: AbortSignal.timeout(10000) })
      const writer = (async () => {
        for (let off = 0; off < bytes; off += CHUNK) {
          if (!s.send(pattern(k, off, Math.min(CHUNK, bytes - off)))) await s.onDrain()
        }
        await s.close()
      })()
      let got = 0
      for await (const chunk of s) {
        const b = bytesOf(chunk)
        const want = pattern(k, got, b.length)
        for (let j = 0; j < b.length; j++) {
          if (b[j] !== want[j]) throw new Error(`echo mismatch stream=${k} offset=${got + j}`)
        }
        got += b.length
      }
      await writer
      if (got !== bytes) throw new Error(`stream ${k}: got ${got} of ${bytes}`)
    }))
    console.log(`echo ok streams=${streams} bytes=${bytes}`)
  }
  await node.stop()
  process.exit(0)
} else {
  console.error('usage: p2p_js.mjs listen | dial MA PINGS BYTES STREAMS')
  process.exit(2)
}
