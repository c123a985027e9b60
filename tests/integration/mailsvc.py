#!/usr/bin/python3
"""mailsvc.py - minimal POP3 (110) and IMAP (143) listeners for the lab's
server namespace: enough protocol for a client to send a clear-text login
and get it refused, so that the inspector's clear-text-login and
failed-login checks (DESIGN.md 1: clear-text POP3/IMAP AUTH) see real
traffic on real ports.  No mailbox behind them: every login fails.

    mailsvc.py ADDR4 ADDR6     listen on both families; prints "serving"
"""

import socketserver
import sys

MAX_LINE = 1024
MAX_CMDS = 50


class Pop3(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"+OK lab POP3 ready\r\n")
        for _ in range(MAX_CMDS):
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb == b"USER":
                w(b"+OK\r\n")
            elif verb == b"PASS":
                w(b"-ERR [AUTH] Authentication failed.\r\n")
            elif verb == b"QUIT":
                w(b"+OK bye\r\n")
                return
            else:
                w(b"-ERR unknown command\r\n")


class Imap(socketserver.StreamRequestHandler):
    def handle(self):
        w = self.wfile.write
        w(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] lab IMAP ready\r\n")
        for _ in range(MAX_CMDS):
            line = self.rfile.readline(MAX_LINE)
            if not line:
                return
            parts = line.split(b" ", 2)
            tag = parts[0].strip()
            verb = parts[1].strip().upper() if len(parts) > 1 else b""
            if verb == b"LOGIN":
                w(tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
            elif verb == b"LOGOUT":
                w(b"* BYE\r\n" + tag + b" OK LOGOUT completed\r\n")
                return
            else:
                w(tag + b" BAD unknown command\r\n")


class Server4(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server4):
    import socket
    address_family = socket.AF_INET6


def main():
    import threading
    servers = []
    for cls, addr in ((Server4, sys.argv[1]), (Server6, sys.argv[2])):
        servers.append(cls((addr, 110), Pop3))
        servers.append(cls((addr, 143), Imap))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print("serving", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
