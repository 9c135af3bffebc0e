# Airlock python session kernel, the cell's side of its accounting (imported by kernel.py, never by the cell
# interpreter): what the kernel believes of the interpreter's answer, and how one cell's output is counted and cut
# against its output_bytes. The answer is the cell's own word: anything but its strict shape, naming the running
# cell, within its bounds, is a Violation. It must never let a byte into a result that it has not counted.

import base64

EXCEPTION_FIELD_BYTES = 64 * 1024
STATUSES = ("ok", "error", "interrupted")
ANSWER_KEYS = {"type", "seq", "status", "exit_code", "display", "value", "exception", "dropped"}
NOTICE_DROPPED = {"text/plain": "<display output dropped: over the output limit>"}


class Violation(Exception):
    """The protocol was broken: by the interpreter (the cell), or by whatever wrote to the host channel."""


def clean(text):
    """The string as the host will see it (lone surrogates replaced) and its UTF-8 size."""
    data = text.encode("utf-8", "replace")
    return data.decode("utf-8"), len(data)


def clean_bundle(bundle, what):
    if not isinstance(bundle, dict):
        raise Violation("the interpreter sent a %s that is not a MIME bundle" % what)
    out, size = {}, 0
    for key, value in bundle.items():
        if not isinstance(value, str):
            raise Violation("the interpreter sent a %s that is not a MIME bundle" % what)
        key, key_size = clean(key)
        value, value_size = clean(value)
        out[key] = value
        size += key_size + value_size
    return out, size


def check_answer(answer, seq):
    """The answer's fields, cleaned; raises Violation for anything but the strict shape naming this cell."""
    if not isinstance(answer, dict) or set(answer) != ANSWER_KEYS or answer["type"] != "answer":
        raise Violation("the interpreter sent a malformed answer")
    if type(answer["seq"]) is not int or answer["seq"] != seq:
        raise Violation("the interpreter answered for another cell")
    exit_code = answer["exit_code"]
    if answer["status"] not in STATUSES or type(answer["dropped"]) is not bool:
        raise Violation("the interpreter sent a malformed answer")
    if exit_code is not None and (type(exit_code) is not int or not -(1 << 31) <= exit_code < (1 << 31)):
        raise Violation("the interpreter sent a malformed exit code")
    if not isinstance(answer["display"], list):
        raise Violation("the interpreter sent a malformed answer")
    display = [clean_bundle(b, "display entry") for b in answer["display"]]
    value = None if answer["value"] is None else clean_bundle(answer["value"], "value")
    exception = answer["exception"]
    if exception is not None:
        if not isinstance(exception, dict) or set(exception) != {"name", "message", "traceback"}:
            raise Violation("the interpreter sent a malformed exception")
        cleaned = {}
        for name, text in exception.items():
            if not isinstance(text, str):
                raise Violation("the interpreter sent a malformed exception")
            cleaned[name], size = clean(text)
            if size > EXCEPTION_FIELD_BYTES:
                raise Violation("the interpreter sent an exception over its size bound")
        exception = cleaned
    return answer["status"], exit_code, display, value, exception, answer["dropped"]


class Cell:
    """The running cell as this process sees it: its id, its cap, its streams as counted here, its answer."""

    def __init__(self, request, seq):
        self.id = request["id"]
        self.seq = seq
        self.cap = request["output_bytes"]
        self.streams = {"stdout": bytearray(), "stderr": bytearray()}
        self.truncated = {"stdout": False, "stderr": False}
        self.over = False
        self.answer = None

    def take(self, name, chunk):
        """Keeps what fits under the cap; True the first time the cap is passed."""
        room = self.cap - len(self.streams["stdout"]) - len(self.streams["stderr"])
        if len(chunk) <= room:
            self.streams[name] += chunk
            return False
        self.streams[name] += chunk[:max(room, 0)]
        self.truncated[name] = True
        first, self.over = not self.over, True
        return first

    def result(self):
        status, exit_code, display, value, exception, dropped = self.answer
        used = len(self.streams["stdout"]) + len(self.streams["stderr"])
        truncated = dict(self.truncated)
        truncated["stdout"] = truncated["stdout"] or dropped
        kept = []
        for bundle, size in display:
            if used + size > self.cap:
                truncated["stdout"] = True
                bundle, size = clean_bundle(NOTICE_DROPPED, "notice")
                if used + size > self.cap:
                    continue
            kept.append(bundle)
            used += size
        if value is not None and used + value[1] > self.cap:
            truncated["stdout"] = True
            plain = clean_bundle({"text/plain": value[0].get("text/plain", "")[:256]}, "value")
            value = plain if used + plain[1] <= self.cap else None
        return {
            "type": "result",
            "id": self.id,
            "status": "output_limit" if self.over else status,
            "exit_code": exit_code,
            "stdout": base64.b64encode(bytes(self.streams["stdout"])).decode("ascii"),
            "stderr": base64.b64encode(bytes(self.streams["stderr"])).decode("ascii"),
            "truncated": truncated,
            "display": kept,
            "value": None if value is None else value[0],
            "exception": exception,
        }
