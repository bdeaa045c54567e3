import gnet as net
from gnet.events import once

def test_probe():
    srv = net.createServer(lambda s: s.pipe(s))
    srv.listen(0, '127.0.0.1')
    once(srv, 'listening', timeout=2000)
    port = srv.address()['port']
    c = net.createConnection(port, '127.0.0.1')
    once(c, 'connect', timeout=2000)
    c.write(b'x')
    assert once(c, 'data', timeout=2000) == (b'x',)
    c.end()
    srv.close()
    assert net.run(timeout=2000)
