# Airlock python session interpreter: the one process of a session container that runs cells, started by the
# session kernel (kernel.py) as `python3 -I -u cell_interpreter.py REQUESTS_FD ANSWERS_FD WORKDIR`. It reads one cell per
# line of JSON on REQUESTS_FD, runs it in a namespace that lives across cells, and writes one answer per cell on
# ANSWERS_FD (b"<decimal length>\n<json>"): the value of a final expression (like a notebook) as a MIME bundle,
# display() calls and matplotlib figures (image/png), an exception as name/message/traceback, how the cell ended,
# and whether it dropped rich output over the cap. Its fd 1 and fd 2 (print, os.write, subprocesses) are pipes the
# kernel reads and counts itself; SIGINT from the kernel interrupts a running cell (KeyboardInterrupt), between
# cells it is ignored. Everything here is reachable by the cell's own code (same interpreter): the kernel trusts
# none of it beyond the answer's strict shape and bounds. This file never speaks to the host.

import ast
import base64
import builtins
import io
import json
import linecache
import os
import signal
import sys
import traceback
import types

MPL_BACKEND = "airlock_inline"
# An answer's exception fields are cut here; the kernel refuses longer ones.
EXCEPTION_FIELD_CHARS = 16 * 1024
NOTICE_DROPPED = "<display output dropped: over the output limit>"

REQUESTS = os.fdopen(int(sys.argv[1]), "rb", buffering=1 << 16)
ANSWERS = int(sys.argv[2])
# The folder cells run in and their files are written to (the kernel made it): /work or a template's workdir.
WORKDIR = sys.argv[3] if len(sys.argv) > 3 else "/work"
for _fd in (REQUESTS.fileno(), ANSWERS):
    os.set_inheritable(_fd, False)


def answer(frame):
    data = json.dumps(frame, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    data = b"%d\n" % len(data) + data
    while data:
        data = data[os.write(ANSWERS, data):]


class Cell:
    """The rich outputs of the running cell, kept within its byte cap (the kernel counts again, with its output)."""

    def __init__(self, cap):
        self.cap = cap
        self.used = 0
        self.display = []
        self.dropped = False

    def fits(self, size):
        if self.used + size > self.cap:
            return False
        self.used += size
        return True


def bundle_size(bundle):
    return sum(len(k.encode("utf-8", "replace")) + len(v.encode("utf-8", "replace")) for k, v in bundle.items())


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
    if cell.fits(bundle_size(bundle)):
        cell.display.append(bundle)
        return
    cell.dropped = True
    if cell.fits(64):
        cell.display.append({"text/plain": NOTICE_DROPPED})


def display(*objs):
    """Shows objects in the cell's result, like IPython's display()."""
    for obj in objs:
        add_display(mime_bundle(obj))


def _mpl_backend_attr(name):
    # A matplotlib backend module (MPLBACKEND=module://airlock_inline), filled on first use so that this file
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
        full = os.path.join(WORKDIR, path)
        os.makedirs(os.path.dirname(full) or WORKDIR, exist_ok=True)
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
    # Drop this file's own frames: the traceback starts in the cell.
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    return {"name": type(exc).__name__, "message": str(exc), "traceback": text}


def exit_code_of(code_value):
    if code_value is None:
        return 0
    if isinstance(code_value, int) and -(1 << 31) <= code_value < (1 << 31):
        return code_value
    return 1


def run_cell(request):
    STATE.count += 1
    cell = Cell(int(request.get("output_bytes", 1 << 20)))
    STATE.cell = cell
    sys.stdin = io.StringIO(request.get("stdin", ""))
    signal.signal(signal.SIGINT, on_sigint)
    status, value, exception, exit_code = "ok", None, None, 0
    filename = "<cell %d>" % STATE.count
    code = request.get("code", "")
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
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
        exit_code = exit_code_of(exc.code)
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
    if value is not None and not cell.fits(bundle_size(value)):
        plain = value.get("text/plain", "")[:256]
        value = {"text/plain": plain} if cell.fits(bundle_size({"text/plain": plain})) else None
        cell.dropped = True
    if exception is not None:
        # Like an uncaught exception in a script: the traceback is on stderr too.
        write_stream(2, exception["traceback"])
        exception = {k: v[:EXCEPTION_FIELD_CHARS] for k, v in exception.items()}
    # Everything the cell wrote reaches the pipes before the answer does: the kernel reads them up to here.
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    STATE.cell = None
    reap_children()
    return {
        "type": "answer",
        "seq": request.get("seq"),
        "status": status,
        "exit_code": exit_code,
        "display": cell.display,
        "value": value,
        "exception": exception,
        "dropped": cell.dropped,
    }


def write_stream(fd, text):
    data = text.encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass


def reap_children():
    # Children the cell started and never waited for: reaped between cells so zombies never pile up against the
    # process limit, and not during a cell, so a cell's own subprocess.Popen still sees its child's exit status.
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
    # Unbuffered, as under `python3 -u`: what a cell prints is in the kernel's pipe when print() returns.
    sys.stdout, sys.stderr = (
        io.TextIOWrapper(os.fdopen(fd, "wb", buffering=0, closefd=False), encoding="utf-8", write_through=True)
        for fd in (1, 2)
    )
    os.chdir(WORKDIR)
    answer({"type": "ready", "python": sys.version.split()[0]})
    while True:
        line = REQUESTS.readline()
        if not line:
            return
        answer(run_cell(json.loads(line)))


if __name__ == "__main__":
    main()
