'use strict';
// node reset.js ROLE TARGET ACTION
//   ROLE    client: connect to TARGET; server: listen on TARGET, serve one connection.
//   ACTION  reset: write "ping", and on the peer's first data call resetAndDestroy();
//           expect-reset: write "ping", then expect the peer to reset us
//           ('error' ECONNRESET, then 'close' with hadError true).
// Reports the events in order, the error seen (if any), hadError, and the
// bytes received before the end.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['role', 'target', 'action'], { timeout: '20000' });
const events = [];
let error = null;
let received = 0;
lib.deadline(Number(opts.timeout), () => ({ events, error }));

function serve(socket) {
  socket.on('data', (buf) => {
    events.push('data');
    received += buf.length;
    if (opts.action === 'reset' && !socket.destroyed) {
      const same = socket.resetAndDestroy();
      if (same !== socket) lib.fail('resetAndDestroy() did not return the socket');
    }
  });
  socket.on('end', () => events.push('end'));
  socket.on('error', (err) => {
    events.push('error');
    error = lib.errorInfo(err);
  });
  socket.on('close', (hadError) => {
    events.push('close');
    const result = { events, error, had_error: hadError, received };
    const reset = error !== null && error.code === 'ECONNRESET';
    if ((opts.action === 'expect-reset') !== reset || hadError !== reset) {
      lib.fail(`${opts.action}: unexpected outcome`, result);
    }
    lib.report(result);
  });
  socket.write('ping');
}

if (opts.role === 'server') {
  const server = net.createServer((socket) => {
    server.close();
    serve(socket);
  });
  server.on('error', (err) => lib.fail(err.message, lib.errorInfo(err)));
  server.listen(lib.target(opts.target), () => lib.ready(lib.where(server)));
} else {
  const socket = net.connect(lib.target(opts.target));
  socket.on('connect', () => events.push('connect'));
  serve(socket);
}
