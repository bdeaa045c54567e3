'use strict';
// node echo_server.js TARGET [connections=N]
// Listens on TARGET ("0": a free port on 127.0.0.1; else a Unix path),
// prints {"ready": port|path}, echoes N connections (default 1) with
// pipe(), then closes and reports the bytes and SHA-256 of each.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['target'], { connections: '1', timeout: '30000' });
const wanted = Number(opts.connections);
const results = [];
lib.deadline(Number(opts.timeout), () => ({ connections: results }));

const server = net.createServer((socket) => {
  const tally = new lib.Tally();
  const events = [];
  socket.on('data', (buf) => {
    if (events[events.length - 1] !== 'data') events.push('data');
    tally.add(buf);
  });
  socket.on('end', () => events.push('end'));
  socket.on('finish', () => events.push('finish'));
  socket.on('error', (err) => lib.fail(err.message, { ...lib.errorInfo(err), events }));
  socket.on('close', (hadError) => {
    events.push('close');
    tally.finish();
    results.push({ received: tally.bytes, sha256: tally.sha256, written: socket.bytesWritten,
                   had_error: hadError, events });
    if (results.length === wanted) {
      server.close(() => lib.report({ connections: results }));
    }
  });
  socket.pipe(socket);
});
server.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
server.listen(lib.target(opts.target), () => lib.ready(lib.where(server)));
