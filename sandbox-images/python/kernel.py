# Airlock python session kernel: one persistent interpreter per session container. Reads one cell per line of
# JSON on stdin, runs it in a namespace that lives across cells, and answers one frame per cell on stdout:
# b"<decimal length>\n<json>". Per cell it captures fd 1 and fd 2 (print, os.write, subprocesses) up to the
# cell's byte cap, the value of a final expression (like a notebook) as a MIME bundle, display() calls and
# matplotlib figures (image/png), and an exception as name/message/traceback. SIGINT from the host interrupts
# a running cell (KeyboardInterrupt); between cells it is ignored.
# It must never let a cell's output reach the protocol stream, nor keep more than the cap of a cell's output.
# The frames are the guest's own word (the cell runs in this interpreter): the host treats them as untrusted.

import ast
import base64
import builtins
import io
import json
import linecache
import os
import resource
import signal
import sys
import traceback
import types

PROTOCOL_VERSION = 1
MPL_BACKEND = "airlock_inline"

# --- the protocol channel: private copies of fd 0 and 1; the cell's fds 0/1/2 never reach them ------------
PROTO_IN = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
PROTO_OUT = os.dup(1)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)


def send(frame):
    data = json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    data = b"%d\n" % len(data) + data
    while data:
        data = data[os.write(PROTO_OUT, data):]


class Cell:
    """What one running cell has produced so far besides its output: display entries, within the byte cap."""

    def __init__(self, cap):
        self.cap = cap
        self.used = 0
        self.truncated = {"stdout": False, "stderr": False}
        self.display = []

    def fits(self, size):
        if self.used + size > self.cap:
            return False
        self.used += size
        return True


class OutputPump:
    """
    Captures fd 1 and fd 2 (print, os.write, subprocesses) through pipes read by a forked pump process, not a
    thread: under gVisor with Docker's seccomp profile a sandbox cannot start threads. The pump keeps at most
    the cell's cap, sends the kernel SIGINT when a cell goes over it, and hands a cell's output back when the
    sentinel the kernel writes at the cell's end has come through both pipes (so everything written before is in).
    """

    def __init__(self):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        ctl_r, ctl_w = os.pipe()
        rep_r, rep_w = os.pipe()
        kernel = os.getpid()
        pid = os.fork()
        if pid == 0:
            for fd in (out_w, err_w, ctl_w, rep_r, PROTO_OUT, PROTO_IN.fileno()):
                os.close(fd)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                pump(out_r, err_r, ctl_r, rep_w, kernel)
            finally:
                os._exit(0)
        self.pid = pid
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        for fd in (out_w, err_w, out_r, err_r, ctl_r, rep_w):
            os.close(fd)
        self.ctl = ctl_w
        self.report = os.fdopen(rep_r, "rb")

    def begin(self, cap, token):
        os.write(self.ctl, b"%d %s\n" % (cap, token))

    def finish(self, token):
        """The cell's (stdout, stderr, truncated, over_cap); None when the pump is gone."""
        for fd in (1, 2):
            try:
                os.write(fd, token)
            except OSError:
                return None
        header = self.report.readline()
        if not header:
            return None
        meta = json.loads(header)
        out = self.report.read(meta["stdout"])
        err = self.report.read(meta["stderr"])
        return out, err, meta["truncated"], meta["over_cap"]


def pump(out_r, err_r, ctl_r, rep_w, kernel):
    import select

    names = {out_r: "stdout", err_r: "stderr"}
    cell = None
    ctl_buf = b""
    # poll, not select: under gVisor with Docker's seccomp profile select() fails with EPERM.
    poller = select.poll()
    for fd in (out_r, err_r, ctl_r):
        poller.register(fd, select.POLLIN)
    while True:
        # The control pipe first: a cell's begin line was written before anything of that cell reached fd 1 or 2.
        for fd in sorted((fd for fd, _ in poller.poll()), key=lambda fd: fd != ctl_r):
            chunk = os.read(fd, 65536)
            if not chunk:
                return
            if fd == ctl_r:
                ctl_buf += chunk
                while b"\n" in ctl_buf:
                    line, ctl_buf = ctl_buf.split(b"\n", 1)
                    cap, token = line.split(b" ")
                    cell = {
                        "cap": int(cap), "used": 0, "token": token, "over": False,
                        "stdout": bytearray(), "stderr": bytearray(),
                        "tail": {"stdout": b"", "stderr": b""}, "done": set(),
                        "truncated": {"stdout": False, "stderr": False},
                    }
                continue
            name = names[fd]
            if cell is None or name in cell["done"]:
                continue
            data = cell["tail"][name] + chunk
            at = data.find(cell["token"])
            if at >= 0:
                cell["done"].add(name)
                data = data[:at]
                cell["tail"][name] = b""
            else:
                keep = len(cell["token"]) - 1
                cell["tail"][name], data = data[-keep:], data[:-keep]
            room = cell["cap"] - cell["used"]
            if len(data) > room:
                data = data[:max(room, 0)]
                cell["truncated"][name] = True
                if not cell["over"]:
                    cell["over"] = True
                    try:
                        os.kill(kernel, signal.SIGINT)
                    except OSError:
                        pass
            cell[name] += data
            cell["used"] += len(data)
            if len(cell["done"]) == 2:
                meta = {
                    "stdout": len(cell["stdout"]), "stderr": len(cell["stderr"]),
                    "truncated": cell["truncated"], "over_cap": cell["over"],
                }
                payload = json.dumps(meta).encode() + b"\n" + bytes(cell["stdout"]) + bytes(cell["stderr"])
                while payload:
                    payload = payload[os.write(rep_w, payload):]
                cell = None


# --- rich outputs ------------------------------------------------------------------------------------------
def figure_png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def mime_bundle(obj):
    bundle = {}
    fig_cls = None
    if "matplotlib.figure" in sys.modules:
        fig_cls = sys.modules["matplotlib.figure"].Figure
    if fig_cls is not None and isinstance(obj, fig_cls):
        bundle["image/png"] = figure_png(obj)
        close_figure(obj)
    for method, mime in (
        ("_repr_html_", "text/html"),
        ("_repr_svg_", "image/svg+xml"),
        ("_repr_png_", "image/png"),
        ("_repr_json_", "application/json"),
    ):
        if mime in bundle or isinstance(obj, type):
            continue
        fn = getattr(obj, method, None)
        if not callable(fn):
            continue
        try:
            rendered = fn()
        except Exception:
            continue
        if rendered is None:
            continue
        if mime == "image/png" and isinstance(rendered, (bytes, bytearray)):
            rendered = base64.b64encode(rendered).decode("ascii")
        elif mime == "application/json" and not isinstance(rendered, str):
            rendered = json.dumps(rendered)
        if isinstance(rendered, str):
            bundle[mime] = rendered
    bundle["text/plain"] = repr(obj)
    return bundle


def close_figure(fig):
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def flush_figures():
    """Every open pyplot figure becomes an image/png display entry, then is closed."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None or STATE.cell is None:
        return
    for num in plt.get_fignums():
        fig = plt.figure(num)
        add_display({"image/png": figure_png(fig)})
    plt.close("all")


def add_display(bundle):
    cell = STATE.cell
    if cell is None:
        return
    size = sum(len(k) + len(v) for k, v in bundle.items())
    if cell.fits(size):
        cell.display.append(bundle)
    else:
        cell.truncated["stdout"] = True
        if cell.fits(64):
            cell.display.append({"text/plain": "<display output dropped: over the output limit>"})


def display(*objs):
    """Shows objects in the cell's result, like IPython's display()."""
    for obj in objs:
        add_display(mime_bundle(obj))


def _mpl_backend_attr(name):
    # A matplotlib backend module (MPLBACKEND=module://airlock_inline), filled on first use so that the kernel
    # itself never imports matplotlib: Agg rendering, and show() turns the open figures into display entries.
    # matplotlib copies the module's vars(), so everything is put into its dict at once.
    if "FigureCanvas" not in _mpl.__dict__:
        from matplotlib.backend_bases import FigureManagerBase
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        _mpl.FigureCanvas = FigureCanvasAgg
        _mpl.FigureManager = FigureManagerBase
        _mpl.show = lambda *args, **kwargs: flush_figures()
    if name in _mpl.__dict__:
        return _mpl.__dict__[name]
    raise AttributeError(name)


_mpl = types.ModuleType(MPL_BACKEND)
_mpl.__getattr__ = _mpl_backend_attr
sys.modules[MPL_BACKEND] = _mpl
os.environ["MPLBACKEND"] = "module://" + MPL_BACKEND


# --- running a cell ----------------------------------------------------------------------------------------
class State:
    cell = None
    in_user_code = False
    count = 0


STATE = State()
NAMESPACE = {"__name__": "__main__", "__builtins__": builtins, "display": display}


def on_sigint(signum, frame):
    if STATE.in_user_code:
        raise KeyboardInterrupt


def write_files(files):
    for f in files:
        path = f["path"]
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError("refused file path %r" % path)
        full = os.path.join("/work", path)
        os.makedirs(os.path.dirname(full) or "/work", exist_ok=True)
        with open(full, "wb") as out:
            out.write(base64.b64decode(f["content"]))


def compile_cell(code, filename):
    tree = ast.parse(code, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec")
    return body, (compile(last, filename, "eval") if last is not None else None)


def exception_of(exc, tb):
    # Drop the kernel's own frames: the traceback starts in the cell.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return {"name": type(exc).__name__, "message": str(exc), "traceback": text}


def cpu_ms():
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime) * 1000.0


def run_cell(request, captures):
    STATE.count += 1
    cell = Cell(int(request.get("output_bytes", 1 << 20)))
    STATE.cell = cell
    token = os.urandom(16).hex().encode()
    captures.begin(cell.cap, token)
    sys.stdin = io.StringIO(request.get("stdin", ""))
    signal.signal(signal.SIGINT, on_sigint)
    status, value, exception, exit_code = "ok", None, None, 0
    filename = "<cell %d>" % STATE.count
    code = request.get("code", "")
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    started = cpu_ms()
    result = None
    try:
        write_files(request.get("files", []))
        body, last = compile_cell(code, filename)
        STATE.in_user_code = True
        exec(body, NAMESPACE)
        if last is not None:
            result = eval(last, NAMESPACE)
        STATE.in_user_code = False
    except KeyboardInterrupt:
        STATE.in_user_code = False
        status, exit_code = "interrupted", None
    except SystemExit as exc:
        STATE.in_user_code = False
        code_value = exc.code
        exit_code = code_value if isinstance(code_value, int) else (0 if code_value is None else 1)
        if exit_code != 0:
            status = "error"
    except BaseException as exc:
        STATE.in_user_code = False
        status, exit_code = "error", 1
        exception = exception_of(exc, exc.__traceback__)
    finally:
        STATE.in_user_code = False
    try:
        if result is not None:
            NAMESPACE["_"] = result
            value = mime_bundle(result)
        flush_figures()
    except BaseException as exc:
        if status == "ok":
            status, exit_code = "error", 1
            exception = exception_of(exc, exc.__traceback__)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if exception is not None:
        # Like an uncaught exception in a script: the traceback is on stderr too.
        os.write(2, exception["traceback"].encode("utf-8", "replace"))
    captured = captures.finish(token)
    if captured is None:
        # The pump is gone (the cell killed it): this interpreter can no longer capture output; end the session.
        os._exit(70)
    stdout, stderr, truncated, over_cap = captured
    cell.truncated["stdout"] = cell.truncated["stdout"] or truncated["stdout"]
    cell.truncated["stderr"] = truncated["stderr"]
    if over_cap and status == "interrupted":
        status = "output_limit"
    cell.used += len(stdout) + len(stderr)
    if value is not None:
        size = sum(len(k) + len(v) for k, v in value.items())
        if not cell.fits(size):
            plain = value.get("text/plain", "")[:256]
            value = {"text/plain": plain} if cell.fits(len(plain) + 10) else None
            cell.truncated["stdout"] = True
    STATE.cell = None
    reap_orphans()
    return {
        "type": "result",
        "id": request.get("id"),
        "status": status,
        "exit_code": exit_code,
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr": stderr.decode("utf-8", "replace"),
        "truncated": cell.truncated,
        "display": cell.display,
        "value": value,
        "exception": exception,
        "cpu_ms": round(cpu_ms() - started, 3),
    }


def reap_orphans():
    # The kernel is the container's pid 1: orphaned grandchildren become its children. Reaped between cells only,
    # so a cell's own subprocess.Popen still sees its child's exit status while the cell runs.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def seed_matplotlib_cache():
    # The image ships a built font cache: without it matplotlib builds one on first use and starts a thread to
    # say so, which a gVisor sandbox (with Docker's seccomp profile) cannot do.
    target = os.environ.get("MPLCONFIGDIR")
    source = "/opt/airlock/matplotlib"
    if not target or not os.path.isdir(source):
        return
    try:
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(source):
            if name.endswith(".json") and not os.path.exists(os.path.join(target, name)):
                with open(os.path.join(source, name), "rb") as src, open(os.path.join(target, name), "wb") as dst:
                    dst.write(src.read())
    except OSError:
        pass


def main():
    seed_matplotlib_cache()
    signal.signal(signal.SIGINT, on_sigint)
    captures = OutputPump()
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), encoding="utf-8", write_through=True)
    os.chdir("/work")
    send({"type": "ready", "protocol": PROTOCOL_VERSION, "python": sys.version.split()[0]})
    while True:
        line = PROTO_IN.readline()
        if not line:
            return
        try:
            request = json.loads(line)
        except ValueError:
            send({"type": "refused", "reason": "the cell frame is not JSON"})
            continue
        send(run_cell(request, captures))


if __name__ == "__main__":
    main()
