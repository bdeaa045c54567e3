'use strict';
// The Node dgram peer of tests/interop/test_dgram_node.py.
//
//   node dgram_peer.js recv TYPE SEED                 receive a datagram stream, ack it
//   node dgram_peer.js send TYPE PORT SEED COUNT      send a datagram stream to PORT
//   node dgram_peer.js echo TYPE                      connected echo: answers one peer
//   node dgram_peer.js ping TYPE PORT COUNT           connect to PORT, ping COUNT times
//   node dgram_peer.js mcast GROUP PORT COUNT         join GROUP on 127.0.0.1, count datagrams
//   node dgram_peer.js msgsize                        send 65,508 bytes over IPv4
//
// Datagram i of the stream named SEED: a 4-byte big-endian index, then
// SHAKE-256("SEED:i") bytes; its size is 4 + (first 4 bytes of
// SHA-256("size:SEED:i") mod 65,504), so at most 65,507. A 3-byte 'END' ends a
// stream (answered by 'DONE' + the count, 8 bytes). The receiver acks with its
// count (4 bytes) every 16 datagrams and when idle, so the sender keeps at most WINDOW datagrams in flight: loopback
// must then lose none, and any loss is counted rather than hung on.
// Protocol with the Python tests as in lib.js: '{"ready": port}', then one JSON line.

const crypto = require('crypto');
const dgram = require('dgram');

const WINDOW = 32;
const LOOPBACK = { udp4: '127.0.0.1', udp6: '::1' };

function sizeOf(seed, i) {
  const h = crypto.createHash('sha256').update(`size:${seed}:${i}`).digest();
  return 4 + (h.readUInt32BE(0) % 65504);
}

function datagram(seed, i) {
  const size = sizeOf(seed, i);
  const buf = Buffer.alloc(size);
  buf.writeUInt32BE(i, 0);
  crypto.createHash('shake256', { outputLength: size - 4 }).update(`${seed}:${i}`)
    .digest().copy(buf, 4);
  return buf;
}

function sha(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

function done(result) {
  console.log(JSON.stringify(result));
  process.exit(0);
}

function fail(what) {
  console.log(JSON.stringify({ failed: String(what && what.stack || what) }));
  process.exit(1);
}

const [mode, ...args] = process.argv.slice(2);
setTimeout(() => fail(`${mode}: still running after 60 s`), 60000).unref();

if (mode === 'recv') {
  const [type, seed] = args;
  const sock = dgram.createSocket({ type, recvBufferSize: 4 << 20 });
  let received = 0, bad = 0, dup = 0, bytes = 0;
  const seen = new Set();
  let peer = null;
  let idle = null;
  const ack = () => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(received, 0);
    sock.send(b, peer.port, peer.address);
  };
  sock.on('error', fail);
  sock.on('message', (msg, rinfo) => {
    peer = rinfo;
    if (msg.length === 3 && msg.toString() === 'END') {
      const b = Buffer.alloc(8);
      b.write('DONE', 0);
      b.writeUInt32BE(received, 4);
      sock.send(b, rinfo.port, rinfo.address, () => {
        done({ received, bad, dup, bytes, family: rinfo.family });
      });
      return;
    }
    const i = msg.readUInt32BE(0);
    if (seen.has(i)) dup++;
    seen.add(i);
    if (msg.length !== rinfo.size || sha(msg) !== sha(datagram(seed, i))) bad++;
    received++;
    bytes += msg.length;
    if (received % 16 === 0) ack();
    clearTimeout(idle);
    idle = setTimeout(ack, 50);
  });
  sock.bind(0, LOOPBACK[type], () => console.log(JSON.stringify({ ready: sock.address().port })));
} else if (mode === 'send') {
  const [type, port, seed, count] = [args[0], +args[1], args[2], +args[3]];
  const sock = dgram.createSocket(type);
  let sent = 0, acked = 0, lastProgress = Date.now(), finished = false, bytes = 0;
  sock.on('error', fail);
  const pump = () => {
    while (sent < count && sent - acked < WINDOW) {
      const buf = datagram(seed, sent++);
      bytes += buf.length;
      sock.send(buf, port, LOOPBACK[type], (err) => { if (err) fail(err); });
    }
    if (sent === count && !finished) {
      finished = true;
      const end = () => sock.send('END', port, LOOPBACK[type]);
      end();
      setInterval(end, 200).unref();
    }
  };
  sock.on('message', (msg) => {
    if (msg.length === 8) {
      // 'DONE' + count: the receiver has seen END and reported.
      done({ sent, bytes, receiverCount: msg.readUInt32BE(4) });
      return;
    }
    acked = Math.max(acked, msg.readUInt32BE(0));
    lastProgress = Date.now();
    pump();
  });
  // A lost datagram never gets acked: after 300 ms without progress, give up on it.
  setInterval(() => {
    if (!finished && Date.now() - lastProgress > 300) {
      acked = sent;
      lastProgress = Date.now();
      pump();
    }
  }, 100).unref();
  sock.bind(0, LOOPBACK[type], pump);
} else if (mode === 'echo') {
  const [type] = args;
  const sock = dgram.createSocket(type);
  let peer = null, count = 0;
  sock.on('error', fail);
  sock.on('message', (msg, rinfo) => {
    if (peer === null) {
      // Connect to the first peer; from then on the kernel filters the others.
      peer = rinfo;
      sock.connect(rinfo.port, rinfo.address, () => {
        count++;
        sock.send(msg);
      });
      return;
    }
    if (msg.toString() === 'bye') {
      done({ echoed: count, remote: sock.remoteAddress() });
      return;
    }
    count++;
    sock.send(msg);
  });
  sock.bind(0, LOOPBACK[type], () => console.log(JSON.stringify({ ready: sock.address().port })));
} else if (mode === 'ping') {
  const [type, port, count] = [args[0], +args[1], +args[2]];
  const sock = dgram.createSocket(type);
  let got = 0;
  sock.on('error', fail);
  sock.on('message', (msg) => {
    if (msg.toString() !== `ping ${got}`) fail(`expected ping ${got}, got ${msg}`);
    got++;
    if (got === count) {
      sock.send('bye', () => done({ pongs: got, remote: sock.remoteAddress() }));
    } else {
      sock.send(`ping ${got}`);
    }
  });
  sock.connect(port, LOOPBACK[type], () => sock.send('ping 0'));
} else if (mode === 'mcast') {
  const [group, port, count] = [args[0], +args[1], +args[2]];
  const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const hashes = [];
  sock.on('error', fail);
  sock.on('message', (msg) => {
    if (msg.toString() === 'END') {
      done({ received: hashes.length, sha256: sha(Buffer.from(hashes.join(','))) });
      return;
    }
    hashes.push(sha(msg));
  });
  sock.bind(port, () => {
    sock.addMembership(group, '127.0.0.1');
    console.log(JSON.stringify({ ready: sock.address().port }));
  });
  void count;
} else if (mode === 'msgsize') {
  const sock = dgram.createSocket('udp4');
  sock.send(Buffer.alloc(65508), 9, '127.0.0.1', (err) => {
    sock.close();
    if (!err) fail('65,508 bytes were sent');
    done({ code: err.code, syscall: err.syscall, message: err.message });
  });
} else {
  fail(`unknown mode ${mode}`);
}
