// Node's net chat server: the reference gnet's chat server is measured against.
//
// A set of members; each member's 'data' is split into lines and every
// complete line is written to every other member. A new member is greeted
// with "welcome\n" (so a client knows it has joined the room).
//
// Usage: node chat_node.js [PORT]   (prints "PORT n" once listening)
'use strict';
const net = require('net');

const port = Number(process.argv[2] || 0);
const members = new Set();
const server = net.createServer({ noDelay: true }, (sock) => {
  members.add(sock);
  sock.setEncoding('utf8');
  sock.write('welcome\n');
  let buffered = '';
  sock.on('data', (chunk) => {
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      const message = line + '\n';
      for (const other of members) {
        if (other !== sock) other.write(message);
      }
    }
  });
  sock.on('close', () => members.delete(sock));
  sock.on('error', () => {});
});
server.listen({ port, host: '127.0.0.1', backlog: 1024 }, () => {
  console.log(`PORT ${server.address().port}`);
});
