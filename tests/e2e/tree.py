# A small process tree for tree.sh: the root forks a child that forks a
# grandchild which exits with status 7 and stays a zombie; what else the
# tree holds depends on argv[1]:
#   plain    nothing more
#   static   the root also runs a statically linked program
#   device   the child holds /dev/loop-control, a device whose state a
#            reopen would lose, which cannot be checkpointed
#   pair     the root holds half of a socketpair whose other half a process
#            outside the tree holds (outside.pid)
#   conn     the root holds a connection accepted on its listener of a
#            path, whose client a process outside the tree holds
#            (outside.pid)
#   sysv     the root attaches a SysV shared memory segment that a process
#            outside the tree attaches too (outside.pid)
# Each process writes its pid to ROLE.pid; the root touches ready once all
# are there, then every process counts in COUNT.ROLE until killed.
import ctypes, os, socket, sys, time

kind, static_prog = sys.argv[1], sys.argv[2]


def count(role):
    with open(role + ".pid", "w") as f:
        f.write(str(os.getpid()))
    n = 0
    while True:
        n += 1
        with open("count." + role + ".tmp", "w") as f:
            f.write(str(n))
        os.rename("count." + role + ".tmp", "count." + role)
        time.sleep(0.02)


def outside(fd):
    """A process outside the tree (its parent exits at once) that holds
    fd (a sleep(1) exec'ed) or, with None, what a fork inherits."""
    o = os.fork()
    if o == 0:
        if os.fork() == 0:
            with open("outside.pid", "w") as f:
                f.write(str(os.getpid()))
            if fd is None:
                time.sleep(600)
            os.set_inheritable(fd, True)
            os.execv("/bin/sleep", ["sleep", "600"])
        os._exit(0)
    os.waitpid(o, 0)
    while not os.path.exists("outside.pid"):
        time.sleep(0.01)


if os.fork() == 0:
    if kind == "device":
        keep = os.open("/dev/loop-control", os.O_RDWR)
    z = os.fork()
    if z == 0:
        os._exit(7)
    with open("zombie.pid", "w") as f:
        f.write(str(z))
    while open("/proc/%d/stat" % z).read().split(") ")[1][0] != "Z":
        time.sleep(0.01)
    count("child")
if kind == "static":
    st = os.fork()
    if st == 0:
        os.execv(static_prog, [static_prog])
    with open("static.pid", "w") as f:
        f.write(str(st))
if kind == "pair":
    keep, out = socket.socketpair()
    outside(out.fileno())
    out.close()
if kind == "conn":
    lsn = socket.socket(socket.AF_UNIX)
    lsn.bind("srv.sock")
    lsn.listen(1)
    out = socket.socket(socket.AF_UNIX)
    out.connect("srv.sock")
    outside(out.fileno())
    out.close()
    keep, _ = lsn.accept()
if kind == "sysv":
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    shmid = libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    if shmid < 0 or libc.shmat(shmid, None, 0) in (None, ctypes.c_void_p(-1).value):
        sys.exit("shmget/shmat: errno %d" % ctypes.get_errno())
    libc.shmctl(shmid, 0, None)  # IPC_RMID: gone once nobody attaches it
    outside(None)
while not (os.path.exists("child.pid") and os.path.exists("zombie.pid")):
    time.sleep(0.01)
open("ready", "w").close()
count("root")
