# A client of the checkpointed redis-server, never checkpointed itself:
# it opens one connection before the checkpoint, sends a request once
# the server is frozen (./send), and must get its answer from the
# restored server on the same socket, then go on using it. Any reset,
# end of stream or wrong reply fails it; its exit status is the verdict.
import os
import socket
import sys
import time


def wait_for(path):
    deadline = time.time() + 120
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError("no ./%s within 120 s" % path)
        time.sleep(0.02)


def main():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    r = s.makefile("rb")

    def call(*args, then=None):
        req = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            req += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(req)
        if then:
            then()
        line = r.readline()
        if not line:
            raise EOFError("the server closed the connection")
        if line[:1] == b"$":
            n = int(line[1:])
            return None if n < 0 else r.read(n + 2)[:-2].decode()
        return line[:-2].decode()

    if call("SET", "held", 1) != "+OK":
        raise ValueError("SET held failed")
    open("client.ready", "w").close()
    wait_for("send")
    # Sent while the server is frozen after its checkpoint: the request is
    # in flight across the kill and the restore, answered by the copy.
    s.settimeout(60)
    reply = call("INCR", "held", then=lambda: open("client.sent", "w").close())
    if reply != ":2":
        raise ValueError("INCR held gave %r, not :2" % reply)
    for i in (1, 777, 2000):
        if call("GET", "key:%d" % i) != "value:%d" % i:
            raise ValueError("key:%d lost" % i)
    if call("QUIT") != "+OK" or s.recv(1) != b"":
        raise ValueError("QUIT did not end the connection cleanly")
    print("redis_client: PASS")


try:
    main()
except Exception as e:  # noqa: BLE001 - any failure is the verdict
    print("redis_client: FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
    sys.exit(1)
