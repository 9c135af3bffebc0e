# Airlock pre-started python (sandbox-images/CONTRACT.md, "Pre-started interpreter"): started by the runner as
# `python3 -I -u /opt/airlock/prestart.py` before the job arrives, it waits on fd 3 for the job's environment
# assignments and argv (script and args), then runs the script as `python3 -I -u main.py ARGS` would: a fresh
# __main__ module with the same attributes, the same sys.argv, tracebacks without this file's frame, the same
# exit status. Nothing of this file stays reachable from the job's __main__.
import os
import sys


def _read_job():
    chunks = []
    while True:
        chunk = os.read(3, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(3)
    parts = b"".join(chunks).split(b"\0")
    if parts and parts[-1] == b"":
        parts.pop()
    count = int(parts[0])
    return parts[1 : 1 + count], parts[1 + count :]


def _main():
    assignments, argv = _read_job()
    for assignment in assignments:
        name, _, value = assignment.partition(b"=")
        os.environb[name] = value
    sys.argv[:] = [os.fsdecode(arg) for arg in argv]
    path = os.path.abspath(sys.argv[0])
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec", dont_inherit=True)
    module = type(sys)("__main__")
    module.__file__ = path
    module.__cached__ = None
    module.__loader__ = sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", path)
    module.__annotations__ = {}
    module.__builtins__ = sys.modules["builtins"]
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    except SystemExit:
        raise
    except BaseException as error:
        # Drop this file's frame; the default hook prints the exception's own __traceback__.
        error.__traceback__ = error.__traceback__.tb_next
        sys.excepthook(type(error), error, error.__traceback__)
        sys.exit(1)


_main()
