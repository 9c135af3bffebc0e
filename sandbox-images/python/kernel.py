# Airlock python session kernel: pid 1 of a session container and the only process in it that speaks to the host.
# It starts the cell interpreter (cell_interpreter.py) as its child and hands it one cell at a time; it reads the
# cell's stdout and stderr as raw pipes and counts and caps every byte itself, together with the display entries
# and value of the interpreter's answer (cell_accounting.py), and sends the host one result frame per cell. The
# answer is the cell's own word: anything but exactly one answer of the strict shape naming the running cell is a
# protocol violation, reported to the host, after which the interpreter is killed and nothing more is served.
# Frames to and from the host are `<length> <hex HMAC-SHA256>\n<json>` under a key the host sends as the first
# line, before any cell code exists. This process is not dumpable, so cell code (same uid) can neither ptrace it
# nor read its memory; it must never pass the key or the host channel to the interpreter, and never send the
# host a byte the cell chose beyond its counted output and answer. See sandbox-images/CONTRACT.md, "Sessions".

import ctypes
import hashlib
import hmac
import json
import os
import select
import signal
import stat
import subprocess
import sys

sys.path.append("/opt/airlock")  # cell_accounting.py (-I leaves the script folder out)
from cell_accounting import Cell, Violation, check_answer  # noqa: E402

PROTOCOL_VERSION = 3
INTERPRETER = "/opt/airlock/cell_interpreter.py"
TO_HOST, FROM_HOST = b"kernel>host\n", b"host>kernel\n"
MAX_HOST_FRAME = 1 << 31
# What is read of a stream once the answer is in: everything written before the answer is in the pipe already
# (at most a pipe's capacity), so this only bounds a subprocess that keeps writing.
DRAIN_BYTES = 2 << 20
# Signals whose default action would end pid 1 where the runtime does not protect a namespace's init (gVisor):
# a handler keeps them harmless here and is reset to the default in the interpreter by exec.
QUIET = (
    signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
    signal.SIGVTALRM, signal.SIGPROF, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, signal.SIGIO,
    signal.SIGPWR, signal.SIGXCPU,
)


def fail(message, code=2):
    os.write(2, ("airlock-kernel: %s\n" % message).encode())
    os._exit(code)


def make_undumpable():
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_SET_DUMPABLE = 4, PR_GET_DUMPABLE = 3
    if libc.prctl(4, 0, 0, 0, 0) != 0 or libc.prctl(3, 0, 0, 0, 0) != 0:
        fail("cannot make the kernel undumpable")


def exit_like(status):
    """Ends the kernel (and the container) as the interpreter ended: its exit code, or 128 + the signal."""
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def read_key():
    line = b""
    while not line.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk or len(line) > 128:
            fail("no session key from the host")
        line += chunk
    try:
        key = bytes.fromhex(line.strip().decode("ascii"))
    except ValueError:
        key = b""
    if len(key) != 32:
        fail("the session key is not 64 hex digits")
    return key


def mac(key, direction, body):
    return hmac.new(key, direction + body, hashlib.sha256).hexdigest().encode()


def is_cell(request, seq):
    """Whether a host frame is the next cell, in the shape encodeCell (kernel-protocol.ts) writes."""
    fields = {"type": str, "id": str, "seq": int, "code": str, "stdin": str, "output_bytes": int, "files": list}
    return (
        isinstance(request, dict) and set(request) == set(fields) and request["type"] == "cell"
        and request["seq"] == seq and all(type(request[name]) is kind for name, kind in fields.items())
    )


def is_rekey(request):
    """Whether a host frame hands the kernel a new key, in the shape encodeRekey (kernel-protocol.ts) writes."""
    return (
        isinstance(request, dict) and set(request) == {"type", "key"} and request["type"] == "rekey"
        and type(request["key"]) is str and len(request["key"]) == 64
        and all(c in "0123456789abcdef" for c in request["key"])
    )


def work_folder(argv):
    """The folder cells run in: /work, or the folder under it the host names (a template's workdir)."""
    workdir = argv[1] if len(argv) > 1 else "/work"
    parts = workdir.split("/")
    if workdir != "/work" and (parts[:2] != ["", "work"] or len(parts) < 3 or parts[2] == "out"
                               or any(p in ("", ".", "..") for p in parts[2:])):
        fail("the working folder %r is not a folder under /work" % workdir)
    os.makedirs(workdir, exist_ok=True)
    return workdir


def out_present():
    """Whether /work/out is a folder (not a link): only then can a cell have output files for the host to collect."""
    try:
        return stat.S_ISDIR(os.lstat("/work/out").st_mode)
    except OSError:
        return False


def split_frames(buf, limit, keyed):
    """Complete frames at the start of buf (removed from it): (mac or None, body) pairs."""
    frames = []
    while True:
        newline = buf.find(b"\n", 0, 160)
        if newline < 0:
            if len(buf) >= 160:
                raise Violation("a frame header is malformed")
            return frames
        header = bytes(buf[:newline]).split(b" ")
        if len(header) != (2 if keyed else 1) or not header[0].isdigit() or len(header[0]) > 12:
            raise Violation("a frame header is malformed")
        length = int(header[0])
        if length > limit:
            raise Violation("a frame is over its size bound")
        if len(buf) < newline + 1 + length:
            return frames
        frames.append((header[1] if keyed else None, bytes(buf[newline + 1:newline + 1 + length])))
        del buf[:newline + 1 + length]


class Kernel:
    """The session's one loop: host frames in, cells to the interpreter, its streams and answers back."""

    def __init__(self, key, workdir):
        self.key = key
        self.python = None
        self.cell = None
        self.seq = 0
        self.from_host = bytearray()
        self.answers = bytearray()
        self.to_interpreter = bytearray()
        req_r, self.requests = os.pipe()
        self.answers_fd, ans_w = os.pipe()
        self.out, out_w = os.pipe()
        self.err, err_w = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-u", INTERPRETER, str(req_r), str(ans_w), workdir],
            stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w, pass_fds=(req_r, ans_w), cwd=workdir,
        )
        for fd in (req_r, ans_w, out_w, err_w):
            os.close(fd)
        self.wake, wake_w = os.pipe()
        for fd in (0, self.requests, self.answers_fd, self.out, self.err, self.wake, wake_w):
            os.set_blocking(fd, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        self.reap()  # an interpreter that died before the wake-up fd was set
        self.poller = select.poll()
        self.polled = set()
        for fd in (self.answers_fd, self.out, self.err, self.wake):
            self.watch(fd, select.POLLIN)

    def watch(self, fd, events):
        self.poller.register(fd, events)
        self.polled.add(fd)

    def unwatch(self, fd):
        if fd in self.polled:
            self.poller.unregister(fd)
            self.polled.discard(fd)

    def serve(self):
        self.python = self.await_ready()
        self.send({"type": "ready", "protocol": PROTOCOL_VERSION, "python": self.python})
        self.watch(0, select.POLLIN)
        while True:
            try:
                for fd, _ in self.poller.poll():
                    self.dispatch(fd)
            except Violation as violation:
                self.violated(str(violation))

    def await_ready(self):
        """The interpreter's python version once it is up; its start-up output goes to this container's stderr."""
        while True:
            for fd, _ in self.poller.poll():
                if fd == self.wake:
                    self.read(fd)
                    self.reap()
                elif fd in (self.out, self.err):
                    write_all(2, self.read(fd)[0])
                elif fd == self.answers_fd:
                    data, ended = self.read(fd)
                    self.answers += data
                    try:
                        frames = split_frames(self.answers, 1 << 20, keyed=False)
                        ready = json.loads(frames[0][1]) if frames else None
                    except (Violation, ValueError):
                        fail("the cell interpreter did not start properly")
                    if ready is None and ended:
                        exit_like(os.waitpid(self.proc.pid, 0)[1])  # it ended before it was ready
                    if ready is None:
                        continue
                    if len(frames) > 1 or self.answers or not isinstance(ready, dict) or \
                            ready.get("type") != "ready" or not isinstance(ready.get("python"), str):
                        fail("the cell interpreter did not start properly")
                    return ready["python"]

    def dispatch(self, fd):
        if fd == self.wake:
            self.read(fd)
            self.reap()
        elif fd == 0:
            self.on_host()
        elif fd in (self.out, self.err):
            self.on_stream(fd)
        elif fd == self.answers_fd:
            self.on_answers()
        elif fd == self.requests:
            self.flush_requests()

    def read(self, fd, limit=1 << 20):
        """What fd holds now (up to limit), and whether it reached its end."""
        chunks, total = [], 0
        while total < limit:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                self.unwatch(fd)
                return b"".join(chunks), True
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks), False

    def send(self, frame):
        body = json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        write_all(1, b"%d %s\n" % (len(body), mac(self.key, TO_HOST, body)) + body)

    def interrupt(self, signum=None, frame=None):
        try:
            os.kill(self.proc.pid, signal.SIGINT)
        except OSError:
            pass

    def reap(self):
        """Reaps orphans (this is the container's init); when the interpreter is gone, so is the session."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.proc.pid:
                exit_like(status)

    def on_host(self):
        data, ended = self.read(0)
        self.from_host += data
        for tag, body in split_frames(self.from_host, MAX_HOST_FRAME, keyed=True):
            if not hmac.compare_digest(tag, mac(self.key, FROM_HOST, body)):
                raise Violation("the host channel carried a frame that is not the host's")
            try:
                request = json.loads(body)
            except (ValueError, RecursionError):
                request = None
            if self.cell is None and is_rekey(request):
                # A session started from a ready-made image: from here on it speaks under its own key, its
                # cells counted from 1 again; the ready answer is the first frame under the new key.
                self.key = bytes.fromhex(request["key"])
                self.seq = 0
                self.send({"type": "ready", "protocol": PROTOCOL_VERSION, "python": self.python})
                continue
            if self.cell is not None or not is_cell(request, self.seq + 1):
                raise Violation("the host channel carried a malformed cell, or one out of turn")
            self.seq += 1
            self.cell = Cell(request, self.seq)
            forwarded = {name: request[name] for name in ("code", "stdin", "files", "output_bytes")}
            forwarded["seq"] = self.seq
            self.to_interpreter += json.dumps(forwarded).encode("utf-8") + b"\n"
            self.flush_requests()
        if ended:
            self.interrupt()
            os._exit(0)  # the host closed the session

    def flush_requests(self):
        """Writes what the interpreter's request pipe takes now; the rest when poll says it has room."""
        try:
            written = os.write(self.requests, self.to_interpreter)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:
            written = len(self.to_interpreter)  # the interpreter is gone: reap() ends the session
        del self.to_interpreter[:written]
        if not self.to_interpreter:
            self.unwatch(self.requests)
        elif self.requests not in self.polled:
            self.watch(self.requests, select.POLLOUT)

    def on_stream(self, fd, limit=1 << 20):
        data, _ = self.read(fd, limit)
        cell = self.cell
        if cell is None or cell.answer is not None:
            return  # written between cells: nobody's output
        if cell.take("stdout" if fd == self.out else "stderr", data):
            self.interrupt()

    def on_answers(self):
        limit = (1 << 20) + (0 if self.cell is None else 6 * self.cell.cap)
        data, _ = self.read(self.answers_fd, limit + 1)
        self.answers += data
        if len(self.answers) > limit:
            raise Violation("the interpreter sent more than an answer's size bound")
        frames = split_frames(self.answers, limit, keyed=False)
        for _, body in frames:
            if self.cell is None:
                raise Violation("the interpreter answered when no cell was running")
            if self.cell.answer is not None:
                raise Violation("the interpreter answered twice for one cell")
            try:
                answer = json.loads(body)
            except (ValueError, RecursionError):
                raise Violation("the interpreter sent an answer that is not JSON") from None
            self.cell.answer = check_answer(answer, self.cell.seq)
        if frames and self.answers:
            raise Violation("the interpreter sent more than one answer")
        if frames:
            # Everything the interpreter wrote before its answer is in the pipes now.
            for fd in (self.out, self.err):
                data, _ = self.read(fd, DRAIN_BYTES)
                self.cell.take("stdout" if fd == self.out else "stderr", data)
            result = self.cell.result()
            result["out"] = out_present()
            self.send(result)
            self.cell = None

    def violated(self, detail):
        """Tells the host, kills the interpreter, and serves nothing more until the host removes the container."""
        self.send({"type": "violation", "id": None if self.cell is None else self.cell.id, "detail": detail})
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        os.set_blocking(0, True)
        while os.read(0, 65536):
            pass
        os._exit(0)


def main():
    make_undumpable()
    for signum in QUIET:
        signal.signal(signum, lambda signum, frame: None)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    workdir = work_folder(sys.argv)
    key = read_key()
    kernel = Kernel(key, workdir)
    signal.signal(signal.SIGINT, kernel.interrupt)
    kernel.serve()


if __name__ == "__main__":
    main()
