'use strict';
// node many_clients.js TARGET CLIENTS BYTES SEED
// CLIENTS sockets against one echo server, all open at once: every client
// connects; once all are connected, each sends its first 1 KiB; once every
// client has had an echo back (so the server holds all CLIENTS connections),
// each sends the rest of its BYTES (stream "SEED-<i>", at most 1 MiB) and
// ends. Each client checks that its echo is exactly what it sent.
const net = require('net');
const crypto = require('crypto');
const lib = require('./lib');

const opts = lib.args(['target', 'clients', 'bytes', 'seed'], { timeout: '30000' });
const count = Number(opts.clients);
const size = Number(opts.bytes);
const HEAD = 1024;
if (size > lib.CHUNK || size <= HEAD) lib.fail(`BYTES must be in (${HEAD}, ${lib.CHUNK}]`);

let connected = 0;
let echoed = 0;
let closed = 0;
const results = [];
lib.deadline(Number(opts.timeout), () => ({ connected, echoed, closed }));

function start(i) {
  const payload = lib.chunk(`${opts.seed}-${i}`, 0, size);
  const expected = crypto.createHash('sha256').update(payload).digest('hex');
  const tally = new lib.Tally();
  const socket = net.connect(lib.target(opts.target));
  let first = true;
  socket.on('connect', () => {
    if (++connected === count) clients.forEach((c) => c.write(c.payload.subarray(0, HEAD)));
  });
  socket.on('data', (buf) => {
    tally.add(buf);
    if (first) {
      first = false;
      if (++echoed === count) clients.forEach((c) => c.end(c.payload.subarray(HEAD)));
    }
  });
  socket.on('error', (err) => lib.fail(`client ${i}: ${err.message}`, lib.errorInfo(err)));
  socket.on('close', () => {
    tally.finish();
    results[i] = { sent: socket.bytesWritten, received: tally.bytes,
                   ok: tally.sha256 === expected && tally.bytes === size };
    if (++closed === count) finish();
  });
  socket.payload = payload;
  return socket;
}

function finish() {
  const bad = results.map((r, i) => (r.ok ? null : { client: i, ...r })).filter(Boolean);
  const result = {
    clients: count, ok: count - bad.length,
    sent: results.reduce((n, r) => n + r.sent, 0),
    received: results.reduce((n, r) => n + r.received, 0),
    bad: bad.slice(0, 5),
  };
  if (bad.length) lib.fail(`${bad.length} clients got a wrong echo`, result);
  lib.report(result);
}

const clients = [];
for (let i = 0; i < count; i++) clients.push(start(i));
