// Node's net echo server: the reference gnet is measured against.
//
// 'data' -> write(); pause() when write() returns false; resume() on 'drain'
// (what socket.pipe(socket) does, spelled out as gnet's server spells it).
//
// Usage: node node_echo.js [PORT]   (prints "PORT n" once listening)
'use strict';
const net = require('net');

const port = Number(process.argv[2] || 0);
const server = net.createServer({ noDelay: true }, (sock) => {
  sock.on('data', (chunk) => {
    if (!sock.write(chunk)) sock.pause();
  });
  sock.on('drain', () => sock.resume());
  sock.on('error', () => {});
});
server.listen({ port, host: '127.0.0.1', backlog: 1024 }, () => {
  console.log(`PORT ${server.address().port}`);
});
