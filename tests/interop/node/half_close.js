'use strict';
// node half_close.js ROLE TARGET FIRST SEED BYTES [half_open=1] [end_mode=write-end]
// One connection where one side ends before the other.
//   ROLE   client: connect to TARGET; server: listen on TARGET, serve one connection.
//   FIRST  self: send BYTES of stream SEED at once, then end;
//          peer: wait for the peer's 'end', then send BYTES of SEED and end.
//   half_open    allowHalfOpen on this side's socket (1 or 0).
//   end_mode     write-end: write() the chunks then end(); end-data: one end(whole payload).
// Reports the events in order (runs of 'data' counted as one), what arrived
// (bytes, SHA-256, how much of it after our own 'finish'), and the socket's
// state inside the 'end' listener.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['role', 'target', 'first', 'seed', 'bytes'],
                      { half_open: '1', end_mode: 'write-end', timeout: '20000' });
const halfOpen = opts.half_open === '1';
const total = Number(opts.bytes);
const events = [];
const received = new lib.Tally();
let finished = false;
let afterFinish = 0;
let atEnd = null;
lib.deadline(Number(opts.timeout), () => ({ events, received: received.bytes }));

function send(socket) {
  if (opts.end_mode === 'end-data') {
    const parts = [];
    for (let k = 0, left = total; left > 0; k++) {
      parts.push(lib.chunk(opts.seed, k, Math.min(lib.CHUNK, left)));
      left -= parts[parts.length - 1].length;
    }
    socket.end(Buffer.concat(parts));
  } else {
    lib.sendStream(socket, opts.seed, total, () => socket.end());
  }
}

function serve(socket, done) {
  socket.on('data', (buf) => {
    if (events[events.length - 1] !== 'data') events.push('data');
    received.add(buf);
    if (finished) afterFinish += buf.length;
  });
  socket.on('end', () => {
    events.push('end');
    atEnd = { writable: socket.writable, readable: socket.readable,
              readyState: socket.readyState, received: received.bytes };
    if (opts.first === 'peer') {
      if (total > 0) send(socket);
      else if (halfOpen) socket.end();
      // else: allowHalfOpen false ends this side by itself after this listener.
    }
  });
  socket.on('finish', () => { events.push('finish'); finished = true; });
  socket.on('error', (err) => {
    events.push('error');
    lib.fail(err.message, { ...lib.errorInfo(err), events });
  });
  socket.on('close', (hadError) => {
    events.push('close');
    received.finish();
    done({ events, received: received.bytes, received_sha256: received.sha256,
           received_after_finish: afterFinish, at_end: atEnd, had_error: hadError,
           bytes_written: socket.bytesWritten });
  });
  if (opts.first === 'self') send(socket);
}

if (opts.role === 'server') {
  const server = net.createServer({ allowHalfOpen: halfOpen }, (socket) => {
    server.close();
    serve(socket, lib.report);
  });
  server.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
  server.listen(lib.target(opts.target), () => lib.ready(lib.where(server)));
} else {
  const socket = net.connect({ ...lib.target(opts.target), allowHalfOpen: halfOpen });
  socket.on('connect', () => {
    events.push('connect');
  });
  serve(socket, lib.report);
}
