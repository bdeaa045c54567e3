'use strict';
// Node dgram UDP server for the benchmarks (the reference).
// Usage: node udp_node.js PORT MODE   (MODE: echo or sink; prints "PORT n")
const dgram = require('dgram');

const port = +(process.argv[2] || 0);
const mode = process.argv[3] || 'echo';
const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20 });
if (mode === 'echo') {
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
} else {
  let count = 0, bytes = 0;
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 32 && msg.toString().startsWith('?stats')) {
      sock.send(`${count} ${bytes} ${msg.toString().slice(7)}`, rinfo.port, rinfo.address);
      return;
    }
    count++;
    bytes += msg.length;
  });
}
sock.bind(port, '127.0.0.1', () => console.log(`PORT ${sock.address().port}`));
