'use strict';
// node abort_peer.js server [connections=N]
//   An echo server on 127.0.0.1: prints {"ready": port}, echoes, ends its
//   side on 'end', and once N connections have closed reports the events
//   each one saw: {"connections": [[...], ...]}.
// node abort_peer.js client port=PORT [ms=300]
//   Connects with signal: AbortSignal.timeout(ms), writes 'hello' and
//   reports the socket's events when it closes: {"events": [...]}.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['mode'], { connections: '1', port: '0', ms: '300' });
lib.deadline(20000, () => ({}));

if (opts.mode === 'server') {
  const wanted = Number(opts.connections);
  const results = [];
  const server = net.createServer((socket) => {
    const events = [];
    socket.on('data', (buf) => { events.push(`data:${buf}`); socket.write(buf); });
    socket.on('end', () => { events.push('end'); socket.end(); });
    socket.on('error', (err) => events.push(`error:${err.code}`));
    socket.on('close', (hadError) => {
      events.push(`close:${hadError}`);
      results.push(events);
      if (results.length === wanted) server.close(() => lib.report({ connections: results }));
    });
  });
  server.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
  server.listen(0, '127.0.0.1', () => lib.ready(server.address().port));
} else {
  const events = [];
  const socket = net.connect({
    port: Number(opts.port), host: '127.0.0.1', signal: AbortSignal.timeout(Number(opts.ms)),
  });
  socket.on('connect', () => { events.push('connect'); socket.write('hello'); });
  socket.on('data', (buf) => events.push(`data:${buf}`));
  socket.on('error', (err) => events.push(
    `error:${err.name}:${err.code}:${err.message}:${err.cause && err.cause.name}`));
  socket.on('close', (hadError) => { events.push(`close:${hadError}`); lib.report({ events }); });
}
