'use strict';
// Pull-mode parsers of Node programs, and a server that feeds them.
//
// node pull_parsers.js server [connections=N]
//   On 127.0.0.1: prints {"ready": port}; each connection's first byte picks
//   what it is sent: 'F' frames (length-prefixed, 4-byte big-endian length,
//   cut into pieces that straddle frame boundaries), 'U' an HTTP-upgrade-style
//   head with body bytes right behind it, then more body. Then it ends.
//   Exits once N connections have closed: {"served": N}.
// node pull_parsers.js frames port=PORT
//   The amqplib-style frame reader: on 'readable', read(4) for the length,
//   then read(length); while the body is not all there, the length is kept
//   for the next 'readable' (unshift() of the header instead would make Node
//   emit 'readable' again at once, a loop that starves the event loop).
//   Reports {"frames": [[length, sha256 hex], ...]}.
// node pull_parsers.js upgrade port=PORT
//   The ws-style upgrade reader: on 'readable', read() until "\r\n\r\n",
//   unshift() what follows the head, drop the 'readable' listener and take
//   the rest with 'data'. Reports {"head": ..., "body": [length, sha256 hex]}.
const crypto = require('crypto');
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['mode'], { connections: '2', port: '0' });
lib.deadline(20000, () => ({}));

const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// Frame i: 1 + (i * 7919) % 90001 bytes (a few of them above the 64 KiB
// highWaterMark), filled from SHAKE-256.
function frames() {
  const out = [];
  for (let i = 0; i < 40; i++) {
    const body = lib.chunk('frame', i, 1 + ((i * 7919) % 90001));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    out.push(head, body);
  }
  return Buffer.concat(out);
}

const HEAD = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n'
  + 'Connection: Upgrade\r\n\r\n';

// Writes the pieces of `data` one per loop turn, then ends.
function sendInPieces(socket, data, cuts) {
  let at = 0;
  let k = 0;
  function next() {
    if (at >= data.length) { socket.end(); return; }
    const size = cuts[k++ % cuts.length];
    const piece = data.subarray(at, at + size);
    at += size;
    if (socket.write(piece)) setImmediate(next);
    else socket.once('drain', next);
  }
  next();
}

function readFrames(socket, done) {
  const frames = [];
  let length = -1; // the length read from a header whose body is not all there yet
  socket.on('readable', () => {
    for (;;) {
      if (length < 0) {
        const header = socket.read(4);
        if (header === null) return;
        length = header.readUInt32BE(0);
      }
      const body = socket.read(length);
      if (body === null) return;
      frames.push([body.length, sha(body)]);
      length = -1;
    }
  });
  socket.on('end', () => done(frames));
}

function readUpgrade(socket, done) {
  let head = Buffer.alloc(0);
  function onReadable() {
    let chunk;
    while ((chunk = socket.read()) !== null) {
      head = Buffer.concat([head, chunk]);
      const i = head.indexOf('\r\n\r\n');
      if (i !== -1) {
        const rest = head.subarray(i + 4);
        head = head.subarray(0, i + 4);
        socket.removeListener('readable', onReadable);
        if (rest.length) socket.unshift(rest);
        const body = [];
        socket.on('data', (d) => body.push(d));
        socket.on('end', () => {
          const all = Buffer.concat(body);
          done(head.toString('latin1'), [all.length, sha(all)]);
        });
        return;
      }
    }
  }
  socket.on('readable', onReadable);
}

if (opts.mode === 'server') {
  const wanted = Number(opts.connections);
  let served = 0;
  const server = net.createServer((socket) => {
    socket.once('data', (first) => {
      if (String(first) === 'F') {
        sendInPieces(socket, frames(), [3, 1000, 70000, 5, 150000, 2, 40000]);
      } else {
        const body = lib.chunk('upgrade', 0, 300000);
        sendInPieces(socket, Buffer.concat([Buffer.from(HEAD, 'latin1'), body]),
          [20, 60, 9000, 100000, 7]);
      }
      socket.resume();
    });
    socket.on('close', () => {
      served += 1;
      if (served === wanted) server.close(() => lib.report({ served }));
    });
  });
  server.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
  server.listen(0, '127.0.0.1', () => lib.ready(server.address().port));
} else {
  const socket = net.connect(Number(opts.port), '127.0.0.1');
  socket.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
  if (opts.mode === 'frames') {
    socket.write('F');
    readFrames(socket, (frames) => lib.report({ frames }));
  } else {
    socket.write('U');
    readUpgrade(socket, (head, body) => lib.report({ head, body }));
  }
}
