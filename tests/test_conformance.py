import gnet as net
from gnet.events import once

def test_a():
    srv = net.createServer(lambda s: s.pipe(s))
    srv.listen(0, '127.0.0.1')
    c = net.createConnection(srv.address()['port'], '127.0.0.1')
    once(c, 'connect', timeout=2000)
    c.write(b'x' * 100000)
    got = []
    c.on('data', got.append)
    c.end()
    once(c, 'close', timeout=2000)
    srv.close()
    assert net.run(timeout=2000)
    assert len(b''.join(got)) == 100000

def test_b():
    test_a()
