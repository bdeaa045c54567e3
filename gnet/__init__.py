"""gnet: Node.js's net module for Python, on gevent."""
