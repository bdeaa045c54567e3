'use strict';
// Helpers shared by the interop scripts: the test data stream, where to
// connect or listen, and how results are reported.
//
// Protocol with the Python tests: a script prints at most one line
// '{"ready": <port or path>}' once it listens, then exactly one JSON line of
// results, and exits 0. On any failure it prints '{"failed": ...}' and exits 1.

const crypto = require('crypto');

const CHUNK = 1 << 20;

// Chunk k of the stream named `seed`: SHAKE-256("<seed>:<k>"), 1 MiB long.
// Python builds the same bytes with hashlib.shake_256, so either side can
// produce what the other one checks.
function chunk(seed, k, size = CHUNK) {
  return crypto.createHash('shake256', { outputLength: size }).update(`${seed}:${k}`).digest();
}

// Calls write(buf) for each chunk of a `total`-byte stream, waiting for
// 'drain' whenever write() returns false; then calls done().
function sendStream(socket, seed, total, done) {
  let k = 0;
  let left = total;
  function more() {
    while (left > 0) {
      const buf = chunk(seed, k++, Math.min(CHUNK, left));
      left -= buf.length;
      if (!socket.write(buf)) {
        socket.once('drain', more);
        return;
      }
    }
    done();
  }
  more();
}

// The SHA-256 of the first `total` bytes of stream `seed`.
function streamSha256(seed, total) {
  const hash = crypto.createHash('sha256');
  for (let k = 0, left = total; left > 0; k++) {
    const buf = chunk(seed, k, Math.min(CHUNK, left));
    hash.update(buf);
    left -= buf.length;
  }
  return hash.digest('hex');
}

// Counts and hashes what a socket receives.
class Tally {
  constructor() {
    this.bytes = 0;
    this.hash = crypto.createHash('sha256');
    this.sha256 = null;
  }
  add(buf) {
    this.bytes += buf.length;
    this.hash.update(buf);
  }
  finish() {
    if (this.sha256 === null) this.sha256 = this.hash.digest('hex');
    return this;
  }
}

// A target is a TCP port on 127.0.0.1 ("0" to listen on any free one) or,
// when it is not a number, a Unix socket path.
function target(text) {
  return /^\d+$/.test(text) ? { port: Number(text), host: '127.0.0.1' } : { path: text };
}

function where(server) {
  const address = server.address();
  return typeof address === 'string' ? address : address.port;
}

function ready(value) {
  process.stdout.write(JSON.stringify({ ready: value }) + '\n');
}

function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

function fail(message, extra = {}) {
  process.stdout.write(JSON.stringify({ failed: String(message), ...extra }) + '\n');
  process.exitCode = 1;
  process.exit(1);
}

// An error's fields as the tests compare them with gnet's.
function errorInfo(err) {
  return { code: err.code, syscall: err.syscall, message: err.message };
}

// argv after the script name; `name=value` arguments become options.
function args(names, defaults = {}) {
  const out = { ...defaults };
  const positional = [];
  for (const arg of process.argv.slice(2)) {
    const eq = arg.indexOf('=');
    if (eq > 0) out[arg.slice(0, eq)] = arg.slice(eq + 1);
    else positional.push(arg);
  }
  if (positional.length < names.length) {
    fail(`usage: ${names.join(' ')} [name=value ...]; got ${process.argv.slice(2).join(' ')}`);
  }
  names.forEach((name, i) => { out[name] = positional[i]; });
  return out;
}

// A script never outlives its test: a hung one reports and exits.
function deadline(ms, describe) {
  setTimeout(() => fail(`timed out after ${ms} ms`, describe ? describe() : {}), ms).unref();
}

module.exports = {
  CHUNK, chunk, sendStream, streamSha256, Tally, target, where, ready, report, fail,
  errorInfo, args, deadline,
};
