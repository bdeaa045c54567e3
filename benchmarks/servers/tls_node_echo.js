// Node's tls echo server: the reference gnet.tls is measured against.
//
// node_echo.js over TLS: 'data' -> write(); pause() when write() returns
// false; resume() on 'drain'.
//
// Usage: node tls_node_echo.js [PORT [CERT.pem KEY.pem]]   (prints "PORT n" once
// listening); the certificate and key default to $GNET_BENCH_TLS_CERT and
// $GNET_BENCH_TLS_KEY.
'use strict';
const fs = require('fs');
const tls = require('tls');

const port = process.argv[2] || 0;
const certPath = process.argv[3] || process.env.GNET_BENCH_TLS_CERT;
const keyPath = process.argv[4] || process.env.GNET_BENCH_TLS_KEY;
const server = tls.createServer({
  key: fs.readFileSync(keyPath), cert: fs.readFileSync(certPath), noDelay: true,
}, (sock) => {
  sock.on('data', (chunk) => {
    if (!sock.write(chunk)) sock.pause();
  });
  sock.on('drain', () => sock.resume());
  sock.on('error', () => {});
});
server.on('tlsClientError', () => {});
server.listen({ port: Number(port), host: '127.0.0.1', backlog: 1024 }, () => {
  console.log(`PORT ${server.address().port}`);
});
