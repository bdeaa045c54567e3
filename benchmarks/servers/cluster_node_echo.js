// Node's cluster echo server: node_echo.js in N worker processes.
//
// The primary forks the workers and prints "PORT n" once every one listens.
// Policy: "rr" (Node's default: the primary accepts and hands each
// connection to a worker in turn) or "none" (one listening socket shared by
// the workers, each accepting on it).
//
// Usage: node cluster_node_echo.js PORT WORKERS [rr|none]
'use strict';
const cluster = require('cluster');
const net = require('net');

const port = Number(process.argv[2]);
const workers = Number(process.argv[3]);
const policy = process.argv[4] || 'rr';

if (cluster.isPrimary) {
  cluster.schedulingPolicy = policy === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR;
  let ready = 0;
  cluster.on('listening', () => {
    ready += 1;
    if (ready === workers) console.log(`PORT ${port}`);
  });
  for (let i = 0; i < workers; i++) cluster.fork();
} else {
  const server = net.createServer({ noDelay: true }, (sock) => {
    sock.on('data', (chunk) => {
      if (!sock.write(chunk)) sock.pause();
    });
    sock.on('drain', () => sock.resume());
    sock.on('error', () => {});
  });
  server.listen({ port, host: '127.0.0.1', backlog: 1024 });
}
