#!/usr/bin/env python3
"""A server on 127.0.0.1 that never finishes an answer, to test timeouts.

    stall_server.py PORT MODE LOG

MODE silent: accept, read the request, never answer.
MODE body:   answer 200 with the headers of a 1 MB body, send 100 bytes of it, then stall.
Each accepted connection appends one line to LOG (the request line), so a test can count attempts.
Connections are held open until the process is killed."""
import socket
import sys
import threading

port, mode, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
held = []


def serve(conn):
    held.append(conn)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
    except OSError:
        return
    with open(log, "a") as f:
        f.write(data.split(b"\r\n", 1)[0].decode("latin-1") + "\n")
    if mode == "body":
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\nContent-Type: application/json\r\n\r\n" + b" " * 100)
        except OSError:
            pass


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(64)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
