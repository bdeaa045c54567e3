'use strict';
// The Node.js half of the differential tester (driver.py is its Python twin).
//
// Reads {"cases": [...], "parallel": k} on stdin; runs each case on a fresh
// connected loopback pair (a server per case, so its options can vary) and
// prints one JSON line per case: {"id": ..., "c": trace, "s": trace}.
//
// A case is {"id", "opts": {"server": {...}, "client": {...}}, "ops": [...]};
// an op is a list: ["write", side, n, kind, cb], ["end", side, n|null, kind,
// cb], ["cork"|"uncork"|"pause"|"resume"|"destroySoon"|"resetAndDestroy",
// side], ["setEncoding", side, enc], ["setTimeout", side, ms], ["destroy",
// side, withError], ["wait", ms]; side is "c" (client) or "s" (server side).
// Ops up to a "wait" run in one go (one tick); each "wait" starts a new
// segment of the trace.
//
// A socket's trace (see README.md beside this file for the why):
//   ops:   per segment, what each op returned or threw, in call order;
//   tx:    per segment, 'drain', 'finish', 'timeout', 'error', 'close' and
//          the write/end callbacks, in the order they happened;
//   rx:    'data' (consecutive chunks of one type merged: type, length,
//          digest) and 'end', over the whole case;
//   final: a few properties read after the last wait.

const net = require('net');
const crypto = require('crypto');

const HOST = '127.0.0.1';
// Before the first op: both ends connected and settled.
const START_MS = 20;
// After the last op, before the final state is read.
const FINAL_MS = 200;
const MAX_WRITE = 1 << 20;

const REP = Buffer.alloc(MAX_WRITE + 256);
for (let i = 0; i < REP.length; i++) REP[i] = i & 255;
const ALPHA = 'abcdefghijklmnopqrstuvwxyz0123456789';
const WIDE = 'a\u00e9\u20ac';  // 1, 2 and 3 bytes in UTF-8

function cycle(text, start, n) {
  let out = '';
  let i = start % text.length;
  while (out.length < n) {
    const piece = text.slice(i, i + n - out.length);
    out += piece;
    i = 0;
  }
  return out;
}

// The arguments write()/end() get for a payload: n units of `kind`, varied by k.
function payload(kind, n, k) {
  const off = k & 255;
  switch (kind) {
    case 'buf': return [REP.subarray(off, off + n)];
    case 'str': return [cycle(ALPHA, k, n)];
    case 'utf8': return [cycle(WIDE, k, n)];
    case 'latin1': return [REP.subarray(off, off + n).toString('latin1'), 'latin1'];
    case 'hex': return [REP.subarray(off, off + n).toString('hex'), 'hex'];
    default: throw new Error(`unknown payload kind ${kind}`);
  }
}

function code(err) {
  if (err === null || err === undefined) return null;
  return err.code || `msg:${err.message}`;
}

class Trace {
  constructor(sock) {
    this.sock = sock;
    this.ops = [[]];
    this.tx = [[]];
    this.rx = [];
    this.hash = null;
    sock.on('data', (chunk) => this.data(chunk));
    sock.on('end', () => this.rx.push(['end']));
    for (const name of ['drain', 'finish', 'timeout']) {
      sock.on(name, () => this.event([name]));
    }
    sock.on('error', (err) => this.event(['error', code(err)]));
    sock.on('close', (hadError) => this.event(['close', hadError]));
  }

  event(item) { this.tx[this.tx.length - 1].push(item); }

  data(chunk) {
    const type = typeof chunk === 'string' ? 's' : 'b';
    const bytes = type === 's' ? Buffer.from(chunk, 'utf8') : chunk;
    const last = this.rx[this.rx.length - 1];
    if (last && last[0] === 'data' && last[1] === type) {
      last[2] += chunk.length;
    } else {
      this.closeRun();
      this.rx.push(['data', type, chunk.length, null]);
      this.hash = crypto.createHash('sha1');
    }
    this.hash.update(bytes);
  }

  closeRun() {
    if (this.hash !== null) {
      const last = this.rx.filter((item) => item[0] === 'data').pop();
      last[3] = this.hash.digest('hex').slice(0, 12);
      this.hash = null;
    }
  }

  newSegment() {
    this.ops.push([]);
    this.tx.push([]);
  }

  // A copy: events after this moment (the clean-up's 'close') are not part of it.
  result(final) {
    this.closeRun();
    return JSON.parse(JSON.stringify({ ops: this.ops, tx: this.tx, rx: this.rx, final }));
  }
}

function finalState(sock) {
  return {
    bytesRead: sock.bytesRead,
    bytesWritten: sock.bytesWritten,
    readyState: sock.readyState,
    destroyed: sock.destroyed,
    writableLength: sock.writableLength > 0,
    writableEnded: sock.writableEnded,
    writableFinished: sock.writableFinished,
    readableEnded: sock.readableEnded,
    readable: sock.readable,
    writable: sock.writable,
    paused: sock.isPaused(),
  };
}

function applyOp(op, index, traces) {
  const [name, side] = op;
  const sock = traces[side].sock;
  const out = traces[side].ops[traces[side].ops.length - 1];
  const tx = (item) => traces[side].event(item);
  try {
    switch (name) {
      case 'write': {
        const [, , n, kind, cb] = op;
        const args = payload(kind, n, index);
        if (cb) args.push((err) => tx(['wcb', index, code(err)]));
        out.push(['write', sock.write(...args)]);
        break;
      }
      case 'end': {
        const [, , n, kind, cb] = op;
        const args = n === null ? [] : payload(kind, n, index);
        if (cb) args.push((err) => tx(['ecb', index, code(err)]));
        sock.end(...args);
        out.push(['end']);
        break;
      }
      case 'setEncoding': sock.setEncoding(op[2]); out.push([name]); break;
      case 'setTimeout': sock.setTimeout(op[2]); out.push([name]); break;
      case 'destroy': sock.destroy(op[2] ? new Error('boom') : undefined); out.push([name]); break;
      case 'cork': case 'uncork': case 'pause': case 'resume':
      case 'destroySoon': case 'resetAndDestroy':
        sock[name]();
        out.push([name]);
        break;
      default: throw new Error(`unknown op ${name}`);
    }
  } catch (err) {
    out.push([name, 'throw', code(err)]);
  }
}

function runCase(testCase, done) {
  const opts = testCase.opts;
  const server = net.createServer(opts.server);
  let client = null;
  let serverSide = null;
  let clientTrace = null;
  let serverTrace = null;
  let connected = false;
  let traces = null;
  let finished = false;
  const fail = (why) => {
    if (finished) return;
    finished = true;
    if (client) client.destroy();
    if (serverSide) serverSide.destroy();
    server.close();
    done({ id: testCase.id, failed: why });
  };
  const watchdog = setTimeout(() => fail('no connected pair within 5 s'), 5000);
  const maybeStart = () => {
    if (!serverTrace || !connected || traces) return;
    clearTimeout(watchdog);
    traces = { c: clientTrace, s: serverTrace };
    setTimeout(() => step(0), START_MS);
  };
  server.on('connection', (sock) => {
    if (serverSide) { sock.destroy(); return; }
    serverSide = sock;
    serverTrace = new Trace(sock);  // from the first moment, as the client's
    maybeStart();
  });
  server.on('error', (err) => fail(`server: ${code(err)}`));
  server.listen(0, HOST, () => {
    client = net.connect({ port: server.address().port, host: HOST, ...opts.client });
    clientTrace = new Trace(client);
    client.once('connect', () => {
      connected = true;
      maybeStart();
    });
  });

  const ops = testCase.ops;
  const step = (i) => {
    while (i < ops.length && ops[i][0] !== 'wait') {
      applyOp(ops[i], i, traces);
      i++;
    }
    if (i < ops.length) {
      const ms = ops[i][1];
      setTimeout(() => {
        traces.c.newSegment();
        traces.s.newSegment();
        step(i + 1);
      }, ms);
      return;
    }
    setTimeout(() => {
      if (finished) return;
      finished = true;
      const result = {
        id: testCase.id,
        c: traces.c.result(finalState(client)),
        s: traces.s.result(finalState(serverSide)),
      };
      client.destroy();
      serverSide.destroy();
      server.close(() => done(result));
    }, FINAL_MS);
  };
}

function main() {
  const chunks = [];
  process.stdin.on('data', (chunk) => chunks.push(chunk));
  process.stdin.on('end', () => {
    const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const cases = input.cases;
    const parallel = Math.max(1, input.parallel || 1);
    let next = 0;
    let running = 0;
    let reported = 0;
    const launch = () => {
      while (running < parallel && next < cases.length) {
        const testCase = cases[next++];
        running++;
        runCase(testCase, (result) => {
          process.stdout.write(JSON.stringify(result) + '\n');
          running--;
          reported++;
          if (reported === cases.length) {
            // Done: a handle a case left open (Node's resetAndDestroy() after
            // end() leaks one) must not hold the batch.
            process.stdout.write('', () => process.exit(0));
          }
          launch();
        });
      }
    };
    if (cases.length === 0) process.exit(0);
    launch();
  });
}

main();
