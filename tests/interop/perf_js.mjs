// perf_js.mjs: a js-libp2p 3.x node (TCP + Noise + yamux) speaking /perf/1.0.0
// (libp2p/specs perf/perf.md), written here because @libp2p/perf is not in our registry.
//   node perf_js.mjs listen              serve perf; print PEER_ID=, LISTEN_ADDR=; run until
//                                        SIGTERM
//   node perf_js.mjs client MA UP DOWN   dial MA, upload UP bytes, ask for DOWN bytes back; print
//                                        the line tests/tools/aa-p2p.c prints:
//     perf upload_bytes=… upload_s=… upload_MBps=… download_bytes=… download_s=… download_MBps=…
// Wire format: the client sends DOWN as a big-endian u64, then UP bytes, then closes its write
// side; the server drains until that close, then sends DOWN bytes and closes. Payload bytes
// are zeros from one shared buffer (the spec allows any fixed pattern). Timing as in our C
// client: the upload ends when the first response byte (or, without a download, the server's
// close) arrives; the download ends with the server's close. MB = 10^6 bytes.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

const PERF = '/perf/1.0.0'
const CHUNK = 65536
const ZEROS = new Uint8Array(CHUNK)
const [mode, ...args] = process.argv.slice(2)

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() }
})

const now = () => process.hrtime.bigint()
const seconds = (ns) => Number(ns) / 1e9
const mbps = (bytes, ns) => ns > 0n ? bytes / 1e6 / seconds(ns) : 0

// Sends `count` zero bytes (a BigInt: the spec allows up to 2^64 - 1), honouring backpressure.
async function sendZeros (stream, count) {
  while (count > 0n) {
    const n = count < BigInt(CHUNK) ? Number(count) : CHUNK
    if (!stream.send(n === CHUNK ? ZEROS : ZEROS.subarray(0, n))) await stream.onDrain()
    count -= BigInt(n)
  }
}

if (mode === 'listen') {
  await node.handle(PERF, async (stream) => {
    const header = new Uint8Array(8)
    let have = 0
    try {
      for await (const chunk of stream) {
        if (have < 8) {
          const take = Math.min(8 - have, chunk.byteLength)
          header.set(chunk.subarray(0, take), have)
          have += take
        }
      }
      // perf.md, Server step 1: a stream that ends before the 8-byte size is broken.
      if (have < 8) throw new Error('perf: stream ended before the 8-byte size')
      await sendZeros(stream, new DataView(header.buffer).getBigUint64(0, false))
      await stream.close()
    } catch (err) {
      stream.abort(err)
    }
  }, { maxInboundStreams: 64 })
  console.log(`PEER_ID=${node.peerId}`)
  for (const ma of node.getMultiaddrs()) console.log(`LISTEN_ADDR=${ma}`)
  process.on('SIGTERM', async () => { await node.stop(); process.exit(0) })
} else if (mode === 'client' && args.length === 3) {
  const ma = multiaddr(args[0])
  const up = BigInt(args[1])
  const down = BigInt(args[2])
  const conn = await node.dial(ma, { signal: AbortSignal.timeout(10000) })
  const start = now()
  const stream = await conn.newStream(PERF, { signal: AbortSignal.timeout(10000) })
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, down, false)
  const writer = (async () => {
    if (!stream.send(header)) await stream.onDrain()
    await sendZeros(stream, up)
    await stream.close()
  })()
  let got = 0
  let uploadDone = 0n
  for await (const chunk of stream) {
    if (uploadDone === 0n) uploadDone = now()
    got += chunk.byteLength
  }
  const end = now()
  if (uploadDone === 0n) uploadDone = end
  await writer
  // perf.md, Client step 5: exactly the number of bytes we asked for.
  if (BigInt(got) !== down) {
    console.error(`perf: got ${got} bytes, asked for ${down}`)
    process.exit(1)
  }
  const upNs = uploadDone - start
  const downNs = end - uploadDone
  console.log(`perf upload_bytes=${up} upload_s=${seconds(upNs).toFixed(6)} ` +
    `upload_MBps=${mbps(Number(up), upNs).toFixed(1)} download_bytes=${got} ` +
    `download_s=${seconds(downNs).toFixed(6)} download_MBps=${mbps(got, downNs).toFixed(1)}`)
  await node.stop()
  process.exit(0)
} else {
  console.error('usage: perf_js.mjs listen | client MA UP DOWN')
  process.exit(2)
}
