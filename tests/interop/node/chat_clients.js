'use strict';
// node chat_clients.js PORT CLIENTS LINES
// CLIENTS members join the chat server on 127.0.0.1:PORT one after another
// (named m0, m1, ...); then each says LINES numbered lines at once. Every
// member must get every other member's lines, in the order they were said,
// and "* mK joined" for each member that joined after it; none gets its
// own lines back. Reports what each member got.
const net = require('net');
const lib = require('./lib');

const opts = lib.args(['port', 'clients', 'lines'], { timeout: '20000' });
const count = Number(opts.clients);
const lines = Number(opts.lines);
const members = [];
lib.deadline(Number(opts.timeout), () => ({
  members: members.map((m) => ({ name: m.name, said: m.said, heard: m.heardCount })),
}));

function line(name, n) {
  return `line ${n} from ${name} ${'x'.repeat(n % 50)}`;
}

function join(i) {
  return new Promise((resolve) => {
    const m = { name: `m${i}`, partial: '', got: [], heard: {}, heardCount: 0, joins: [],
                said: 0, welcomed: false, done: null };
    m.finished = new Promise((r) => { m.done = r; });
    m.socket = net.connect({ port: Number(opts.port), host: '127.0.0.1' });
    m.socket.setEncoding('utf8');
    m.socket.on('error', (err) => lib.fail(`${m.name}: ${err.message}`, lib.errorInfo(err)));
    m.socket.on('data', (text) => {
      const parts = (m.partial + text).split('\n');
      m.partial = parts.pop();
      for (const got of parts) onLine(m, got, resolve);
    });
    m.socket.on('close', () => m.done());
    members.push(m);
  });
}

function onLine(m, got, joined) {
  if (got.startsWith('Welcome')) {
    m.socket.write(`${m.name}\n`);
  } else if (got.startsWith(`Hello ${m.name}!`)) {
    joined();
  } else if (got.startsWith('* ')) {
    m.joins.push(got);
  } else {
    const colon = got.indexOf(': ');
    const from = got.slice(0, colon);
    const seq = m.heard[from] || (m.heard[from] = []);
    seq.push(got.slice(colon + 2));
    m.heardCount++;
    if (m.heardCount === (count - 1) * lines) m.socket.end();
  }
}

(async () => {
  for (let i = 0; i < count; i++) await join(i);
  for (const m of members) {
    for (let n = 0; n < lines; n++) {
      m.socket.write(`${line(m.name, n)}\n`);
      m.said++;
    }
  }
  await Promise.all(members.map((m) => m.finished));
  const report = members.map((m, i) => {
    const inOrder = members.every((other) => other === m || (
      JSON.stringify(m.heard[other.name] || []) ===
      JSON.stringify(Array.from({ length: lines }, (_, n) => line(other.name, n)))));
    const joinsWanted = members.slice(i + 1).map((o) => `* ${o.name} joined`);
    return { name: m.name, said: m.said, heard: m.heardCount, in_order: inOrder,
             own_echoed: m.name in m.heard, joins_ok: joinsWanted.every((j) => m.joins.includes(j)),
             joins: m.joins.length };
  });
  const bad = report.filter((r) => !r.in_order || r.own_echoed || !r.joins_ok);
  if (bad.length) lib.fail('some members did not hear the room right', { members: report });
  lib.report({ members: report, lines_delivered: report.reduce((n, r) => n + r.heard, 0) });
})();
