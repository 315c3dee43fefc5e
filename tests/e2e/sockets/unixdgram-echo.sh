# The receiver outside the process for unixdgram: answers each datagram
# at ./echo.sock to its sender's name.
exec python3 -c '
import os, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    os.unlink("echo.sock")
except FileNotFoundError:
    pass
s.bind("echo.sock")
open("helper-ready", "w").close()
while True:
    data, addr = s.recvfrom(4096)
    if addr:
        s.sendto(b"echo:" + data, addr)
'
