// identity.mjs: the js-libp2p side of the identity interop test (identity.test.sh).
//
//   node identity.mjs gen KEYFILE      new Ed25519 key, written as a PrivateKey protobuf (0600)
//   node identity.mjs show KEYFILE     load a PrivateKey protobuf file
//   node identity.mjs verify KEYFILE "peer_id=… cid=… did=…"
//                                      check that another implementation's text forms parse
//                                      here and name the key in KEYFILE
//
// gen and show print "peer_id=<base58btc> cid=<base32 CID> did=<did:key>", the same line
// tests/tools/aa-identity prints, so the script can compare them byte for byte.
import { readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString, peerIdFromCID } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { base58btc } from 'multiformats/bases/base58'

// did:key method: 'z' + base58btc(multicodec ed25519-pub varint ed 01 ‖ raw public key).
const ED25519_PUB_MULTICODEC = [0xed, 0x01]

function didKey (publicKey) {
  return 'did:key:' + base58btc.encode(Uint8Array.from([...ED25519_PUB_MULTICODEC, ...publicKey.raw]))
}

function line (key) {
  const id = peerIdFromPrivateKey(key)
  return `peer_id=${id.toString()} cid=${id.toCID().toString()} did=${didKey(key.publicKey)}`
}

function load (path) {
  const key = privateKeyFromProtobuf(readFileSync(path))
  if (key.type !== 'Ed25519') throw new Error(`${path}: expected an Ed25519 key, got ${key.type}`)
  return key
}

function fail (msg) {
  console.error(`identity.mjs: ${msg}`)
  process.exit(1)
}

function verify (path, text) {
  const key = load(path)
  const want = peerIdFromPrivateKey(key)
  const fields = Object.fromEntries(text.trim().split(' ').map((kv) => {
    const i = kv.indexOf('=')
    return [kv.slice(0, i), kv.slice(i + 1)]
  }))
  const fromText = peerIdFromString(fields.peer_id)
  if (!fromText.equals(want)) fail(`peer_id ${fields.peer_id} is not ${want}`)
  const fromCid = peerIdFromCID(CID.parse(fields.cid))
  if (!fromCid.equals(want)) fail(`cid ${fields.cid} is not ${want}`)
  if (!fields.did?.startsWith('did:key:z')) fail(`did ${fields.did} is not a base58btc did:key`)
  const raw = base58btc.decode(fields.did.slice('did:key:'.length))
  const expect = Uint8Array.from([...ED25519_PUB_MULTICODEC, ...key.publicKey.raw])
  if (raw.length !== expect.length || !raw.every((b, i) => b === expect[i])) {
    fail(`did ${fields.did} does not hold the public key of ${path}`)
  }
  console.log('ok')
}

const [cmd, path, text] = process.argv.slice(2)
try {
  if (cmd === 'gen' && path) {
    const key = await generateKeyPair('Ed25519')
    writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    chmodSync(path, 0o600)
    console.log(line(key))
  } else if (cmd === 'show' && path) {
    console.log(line(load(path)))
  } else if (cmd === 'verify' && path && text) {
    verify(path, text)
  } else {
    console.error('usage: identity.mjs gen|show KEYFILE | verify KEYFILE LINE')
    process.exit(2)
  }
} catch (err) {
  fail(err.message)
}
