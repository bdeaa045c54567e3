'use strict';
// node stream_client.js TARGET BYTES SEED
// Connects, streams BYTES of test stream SEED, ends, reads back until 'end'.
// Reports what it sent and received (bytes, SHA-256) and the events it saw.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['target', 'bytes', 'seed'], { timeout: '30000' });
const total = Number(opts.bytes);
const sent = { bytes: 0, hash: require('crypto').createHash('sha256') };
const received = new lib.Tally();
const events = [];
lib.deadline(Number(opts.timeout), () => ({ sent: sent.bytes, received: received.bytes, events }));

const socket = net.connect(lib.target(opts.target));
const write = socket.write.bind(socket);
socket.write = (buf) => {  // count and hash exactly what is handed to the socket
  sent.bytes += buf.length;
  sent.hash.update(buf);
  return write(buf);
};
socket.on('connect', () => {
  events.push('connect');
  lib.sendStream(socket, opts.seed, total, () => socket.end());
});
socket.on('data', (buf) => {
  if (events[events.length - 1] !== 'data') events.push('data');
  received.add(buf);
});
socket.on('end', () => events.push('end'));
socket.on('finish', () => events.push('finish'));
socket.on('error', (err) => lib.fail(err.message, { ...lib.errorInfo(err), events }));
socket.on('close', (hadError) => {
  events.push('close');
  received.finish();
  const result = {
    sent: sent.bytes, sent_sha256: sent.hash.digest('hex'),
    received: received.bytes, received_sha256: received.sha256, had_error: hadError, events,
  };
  if (result.sent !== total || result.received !== total ||
      result.sent_sha256 !== result.received_sha256) {
    lib.fail('echo does not match what was sent', result);
  }
  lib.report(result);
});
