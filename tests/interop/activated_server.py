"""An echo server started by systemd socket activation (or on port 8000 without it).

The program docs/deploying.md runs under gnet-app.service, and the one
tests/interop/test_systemd_activation.py starts under systemd-socket-activate.
"""

import gnet as net


def on_connection(sock: net.Socket) -> None:
    sock.pipe(sock)  # echo


server = net.createServer(on_connection)
fds = net.systemdFds("web")  # the socket unit's FileDescriptorName
if fds:
    server.listen({"fd": fds[0]})
else:
    server.listen(8000)
# SIGTERM (systemctl stop): stop accepting, let connections finish for 30 s.
net.run(graceful=30000)
