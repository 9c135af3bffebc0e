#!/usr/bin/env bash
# Smoke test of the sandbox images and the in-sandbox runner against the real dockerd, on runc and runsc, with
# the hardened flags of sandbox-images/CONTRACT.md: per image hello/args/stdin/stderr/exit code, a signal, a
# double-forked SIGTERM-ignoring child that must be gone, output files (symlinks/FIFOs skipped), a rejected
# archive, the nonce staying secret, one 200 KB write arriving whole, the python packages importing and pip
# installing into the user site, `ls -l`/`stat` working (the statx fallback), and the runner's own wall-clock deadline (meta/wall_ms). Exits non-zero on any failure.
# It must never leave a container behind: everything it starts carries airlock=1 and its own airlock.smoke id.
# Usage: scripts/smoke-images.sh [runtime...]   (default: runc runsc)
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGES_JSON="$REPO_DIR/sandbox-images/.built/images.json"
RUNTIMES=("$@")
((${#RUNTIMES[@]})) || RUNTIMES=(runc runsc)
SMOKE_ID="smoke-$$-$RANDOM"
TMP="$(mktemp -d /tmp/airlock-smoke.XXXXXX)"
FAILURES=0
PASSES=0
COUNTER=0

cleanup() {
  docker ps -aq --filter "label=airlock.smoke=$SMOKE_ID" | xargs -r docker rm -f >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

[[ -f "$IMAGES_JSON" ]] || { echo "smoke: $IMAGES_JSON missing (run scripts/build-images.sh)" >&2; exit 1; }
tag_of() { sed -n "s/.*\"$1\": { \"tag\": \"\\([^\"]*\\)\".*/\\1/p" "$IMAGES_JSON"; }

# gVisor containers get the backend's own seccomp profile (shared/sandbox/src/container/gvisor-seccomp.ts).
GVISOR_SECCOMP="$TMP/gvisor-seccomp.json"
NODE_BIN="$REPO_DIR/node_modules/.bin/node"
"$NODE_BIN" -e 'import(process.argv[1]).then((m) => process.stdout.write(m.GVISOR_SECCOMP_OPT.slice("seccomp=".length)))' \
  "$REPO_DIR/shared/sandbox/src/container/gvisor-seccomp.ts" >"$GVISOR_SECCOMP"

# The hardened flags from sandbox-images/CONTRACT.md ("How the backend starts a container"). No --init: the
# runner is pid 1.
hardened_flags() {
  local runtime="$1" seccomp=""
  [[ "$runtime" == runsc ]] && seccomp="--security-opt seccomp=$GVISOR_SECCOMP"
  echo --runtime "$runtime" --read-only --network none \
    --tmpfs /work:rw,size=64m,mode=1777,noexec,nosuid,nodev --tmpfs /tmp:rw,size=16m,mode=1777,noexec,nosuid,nodev \
    --cap-drop ALL --security-opt no-new-privileges $seccomp --user 65534:65534 \
    --memory 256m --memory-swap 256m --cpus 1 --pids-limit 1024 \
    --ulimit nproc=64:64 --ulimit nofile=256:256 --ulimit fsize=8388608:8388608 --ulimit core=0 \
    --label airlock=1 --label "airlock.smoke=$SMOKE_ID"
}

pass() { PASSES=$((PASSES + 1)); echo "  ok   $*"; }
fail() { FAILURES=$((FAILURES + 1)); echo "  FAIL $*"; }

# new_job DIR ARGV... : an empty job folder with meta/argv, a fresh nonce in meta/nonce and an empty work/.
new_job() {
  local dir="$1"; shift
  mkdir -p "$dir/meta" "$dir/work"
  printf '%s\0' "$@" >"$dir/meta/argv"
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$dir/meta/nonce"
  : >"$dir/meta/stdin"
}

# run_job RUNTIME IMAGE DIR: runs the job in a fresh hardened container; leaves DIR.out, DIR.err, DIR.rc.
run_job() {
  local runtime="$1" image="$2" dir="$3" rc=0
  COUNTER=$((COUNTER + 1))
  # shellcheck disable=SC2046 # the flags are words
  tar --format=ustar --owner=0 --group=0 --numeric-owner -C "$dir" -cf - meta work |
    timeout 120 docker run -i --name "airlock-$SMOKE_ID-$COUNTER" $(hardened_flags "$runtime") "$image" \
      >"$dir.out" 2>"$dir.err" || rc=$?
  echo "$rc" >"$dir.rc"
  docker rm -f "airlock-$SMOKE_ID-$COUNTER" >/dev/null 2>&1 || true
}

# check_end WHAT DIR EXIT SIGNAL EXPECTED_STDOUT EXPECTED_STDERR: exact streams and the end markers.
check_end() {
  local what="$1" dir="$2" want_exit="$3" want_signal="$4" want_out="$5" want_err="$6" nonce last
  nonce="$(cat "$dir/meta/nonce")"
  last="$(tail -n 1 "$dir.err")"
  if [[ ! "$last" =~ ^$'\x1e'AIRLOCK-END\ $nonce\ exit=$want_exit\ signal=$want_signal\ cpu_ms=[0-9]+\ maxrss_kb=[0-9]+\ out_files=[0-9]+\ out_skipped=[0-9]+\ out_truncated=[01]$ ]]; then
    fail "$what: stderr end marker: got '$(tail -n 1 "$dir.err" | cat -v)' (container rc $(cat "$dir.rc"))"
    sed 's/^/       stderr: /' "$dir.err" | cat -v | head -n 20
    return
  fi
  printf '%s\n\x1eAIRLOCK-END %s out_tar=0\n' "$want_out" "$nonce" >"$dir.want-out"
  if [[ -n "$want_err" ]]; then printf '%s\n\n' "$want_err"; else printf '\n'; fi >"$dir.want-err"
  if ! cmp -s "$dir.want-out" "$dir.out"; then
    fail "$what: stdout: got '$(cat -v "$dir.out" | head -c 400)'"
    return
  fi
  if ! cmp -s "$dir.want-err" <(head -n -1 "$dir.err"); then
    fail "$what: stderr: got '$(head -n -1 "$dir.err" | cat -v | head -c 400)'"
    return
  fi
  [[ "$(cat "$dir.rc")" == 0 ]] || { fail "$what: container exit code $(cat "$dir.rc"), want 0"; return; }
  pass "$what ($(echo "$last" | cut -d' ' -f3-7))"
}

# out_tar DIR: the output archive that follows the stdout marker, as a file DIR.tar.
out_tar() {
  local dir="$1" nonce header size
  nonce="$(cat "$dir/meta/nonce")"
  header="$(grep -a -o "AIRLOCK-END $nonce out_tar=[0-9]*" "$dir.out" | tail -n 1 || true)"
  size="${header##*=}"
  tail -c "${size:-0}" "$dir.out" >"$dir.tar"
}

smoke_language() {
  local runtime="$1" lang="$2" image="$3" file="$4" code="$5" exit_code="$6"; shift 6
  local dir="$TMP/$runtime-$lang-hello"
  new_job "$dir" "$@" "$file" "a b" "-x" ""
  printf '%s' "$code" >"$dir/work/$file"
  printf 'line1\nline2 ünï\n' >"$dir/meta/stdin"
  mkdir -p "$dir/work/data/sub" && printf 'payload' >"$dir/work/data/sub/in.txt"
  run_job "$runtime" "$image" "$dir"
  check_end "$runtime $lang: hello, args, stdin, files, stderr, exit $exit_code" "$dir" "$exit_code" - \
    "$(printf 'hello %s\nargs=a b|-x|\nstdin=line1\nline2 ünï\nfile=payload' "$lang")" "to stderr"
}

smoke_runtime() {
  local runtime="$1" py node sh dir
  py="$(tag_of python)" node="$(tag_of node)" sh="$(tag_of bash)"
  echo "runtime $runtime:"

  smoke_language "$runtime" python "$py" main.py 'import sys
print("hello python")
print("args=" + "|".join(sys.argv[1:]))
print("stdin=" + sys.stdin.read(), end="")
print("file=" + open("data/sub/in.txt").read(), end="")
print("to stderr", file=sys.stderr)
sys.exit(3)' 3 python3 -I -u

  smoke_language "$runtime" node "$node" main.js 'const fs = require("node:fs");
console.log("hello node");
console.log("args=" + process.argv.slice(2).join("|"));
process.stdout.write("stdin=" + fs.readFileSync(0, "utf8"));
process.stdout.write("file=" + fs.readFileSync("data/sub/in.txt", "utf8"));
console.error("to stderr");
process.exitCode = 5;' 5 node

  smoke_language "$runtime" bash "$sh" main.sh 'echo "hello bash"
IFS="|"; echo "args=$*"
printf "stdin=%s\n" "$(cat)"
printf "file=%s" "$(cat data/sub/in.txt)"
echo "to stderr" >&2
exit 7' 7 bash

  dir="$TMP/$runtime-signal"
  new_job "$dir" bash main.sh
  printf 'echo before; kill -KILL $$' >"$dir/work/main.sh"
  run_job "$runtime" "$sh" "$dir"
  check_end "$runtime bash: killed by a signal" "$dir" - SIGKILL $'before\n' ""

  # A child that double-forks, setsids, ignores SIGTERM and would print after its parent exits.
  dir="$TMP/$runtime-orphan"
  new_job "$dir" python3 -I -u main.py
  printf '%s' 'import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(3)
        print("ORPHAN SURVIVED", flush=True)
        os._exit(0)
    os._exit(0)
time.sleep(0.2)
print("parent done")' >"$dir/work/main.py"
  run_job "$runtime" "$py" "$dir"
  check_end "$runtime python: double-forked child killed before the marker" "$dir" 0 - $'parent done\n' ""

  # Same orphan, but with bash as pid 1 (no --init; kill(-1) spares pid 1) so it can look at /proc afterwards.
  dir="$TMP/$runtime-orphan-proc"
  new_job "$dir" bash main.sh
  printf '%s' '( setsid bash -c "trap \"\" TERM; exec -a airlock-orphan sleep 600" & ) ; echo started' >"$dir/work/main.sh"
  COUNTER=$((COUNTER + 1))
  # shellcheck disable=SC2046
  tar --format=ustar -C "$dir" -cf - meta work | timeout 120 docker run -i --name "airlock-$SMOKE_ID-$COUNTER" \
    $(hardened_flags "$runtime" | sed 's/ --init / /') "$sh" bash -c '/opt/airlock/runner; sleep 0.5; cat /proc/[0-9]*/cmdline | tr "\0" " "' \
    >"$dir.out" 2>"$dir.err" || true
  docker rm -f "airlock-$SMOKE_ID-$COUNTER" >/dev/null 2>&1 || true
  if grep -q 'started' "$dir.out" && ! grep -aq 'airlock-orphan' "$dir.out" && grep -aq "AIRLOCK-END" "$dir.err"; then
    pass "$runtime bash: setsid'd SIGTERM-ignoring child gone from /proc after the runner"
  else
    fail "$runtime bash: orphan check: $(cat -v "$dir.out" | tail -c 300)"
  fi

  # Output files: regular files and dirs come back; a symlink and a FIFO are skipped.
  dir="$TMP/$runtime-outputs"
  new_job "$dir" bash main.sh
  printf '%s' 'mkdir -p out/sub; echo result >out/result.txt; printf x >out/sub/x.bin
ln -s /etc/passwd out/link; mkfifo out/fifo; echo done' >"$dir/work/main.sh"
  run_job "$runtime" "$sh" "$dir"
  out_tar "$dir"
  if tail -n 1 "$dir.err" | grep -q 'out_files=2 out_skipped=2 out_truncated=0' &&
    [[ "$(tar -xOf "$dir.tar" result.txt)" == result && "$(tar -tf "$dir.tar" | sort | tr '\n' ' ')" == "result.txt sub/ sub/x.bin " ]]; then
    pass "$runtime bash: output files packed, symlink and FIFO skipped"
  else
    fail "$runtime bash: outputs: $(tail -n 1 "$dir.err" | cat -v); tar: $(tar -tf "$dir.tar" 2>&1 | tr '\n' ' ')"
  fi

  # The program cannot learn the nonce: not from the runner's memory, fds, environment or files.
  dir="$TMP/$runtime-nonce"
  new_job "$dir" python3 -I -u main.py
  printf '%s' 'import os, glob
ppid = os.getppid()
for name in ["mem", "environ", "cmdline", "maps"]:
    try:
        data = open(f"/proc/{ppid}/{name}", "rb").read(1 << 20)
        print(name, data.hex())
    except Exception as e:
        print(name, "denied", type(e).__name__)
for path in glob.glob("/work/**", recursive=True) + glob.glob("/tmp/**", recursive=True):
    print(path)
    if os.path.isfile(path):
        print(open(path, "rb").read().hex())' >"$dir/work/main.py"
  run_job "$runtime" "$py" "$dir"
  local nonce nonce_hex
  nonce="$(cat "$dir/meta/nonce")"
  nonce_hex="$(printf '%s' "$nonce" | od -An -tx1 | tr -d ' \n')"
  if [[ "$(grep -a -c -e "$nonce" -e "$nonce_hex" "$dir.out")" == 1 ]] && grep -q '^mem denied' "$dir.out"; then
    pass "$runtime python: nonce not readable by the program (/proc/<runner>/mem denied)"
  else
    fail "$runtime python: nonce leak check: $(head -c 600 "$dir.out" | cat -v)"
  fi

  # One write larger than a host pipe holds arrives whole (python -u does not retry a short write).
  dir="$TMP/$runtime-big-write"
  new_job "$dir" python3 -I -u main.py
  printf '%s' 'import sys; sys.stdout.write("x" * 200000); sys.stderr.write("y" * 200000 + "\n")' >"$dir/work/main.py"
  run_job "$runtime" "$py" "$dir"
  check_end "$runtime python: one 200000-byte write to stdout, one of 200001 to stderr" "$dir" 0 - \
    "$(head -c 200000 /dev/zero | tr '\0' x)" "$(head -c 200000 /dev/zero | tr '\0' y)"

  # The python packages import, and pip (as the sandbox user, read-only root) installs a wheel the job builds
  # itself (no network) into the user site, which `python3 -I` imports in the same run.
  dir="$TMP/$runtime-pip"
  new_job "$dir" python3 -I -u main.py
  printf '%s' 'import subprocess, sys, zipfile
import numpy, pandas, matplotlib, requests, pip
info = "smokepkg-1.0.dist-info"
files = {"smokepkg/__init__.py": "ANSWER = 42\n", info + "/METADATA": "Metadata-Version: 2.1\nName: smokepkg\nVersion: 1.0\n",
         info + "/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
files[info + "/RECORD"] = "".join(path + ",,\n" for path in [*files, info + "/RECORD"])
with zipfile.ZipFile("smokepkg-1.0-py3-none-any.whl", "w") as wheel:
    for path, data in files.items():
        wheel.writestr(path, data)
r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--quiet", "smokepkg-1.0-py3-none-any.whl"],
                   capture_output=True, text=True)
print(r.stdout + r.stderr, end="", file=sys.stderr)
import smokepkg
print("pip", r.returncode, "smokepkg", smokepkg.ANSWER, smokepkg.__file__, end="")' >"$dir/work/main.py"
  run_job "$runtime" "$py" "$dir"
  check_end "$runtime python: numpy, pandas, matplotlib, requests import; pip installs to the user site" "$dir" 0 - \
    "pip 0 smokepkg 42 /tmp/.local/lib/python3.11/site-packages/smokepkg/__init__.py" ""

  # coreutils 9 passes AT_NO_AUTOMOUNT to statx; the images' fallback makes it work under gVisor too.
  dir="$TMP/$runtime-statx"
  new_job "$dir" bash main.sh
  printf '%s' 'mkdir d; printf abc >d/f; ls d; ls -l d | cut -d" " -f1,5; stat --printf "%n %s %F" d/f' >"$dir/work/main.sh"
  run_job "$runtime" "$sh" "$dir"
  check_end "$runtime bash: ls DIR, ls -l, stat" "$dir" 0 - $'f\ntotal\n-rw-r--r-- 3\nd/f 3 regular file' ""

  # meta/wall_ms: the runner ends the job itself 1 s after the limit (exit 3, no markers); a SIGALRM the
  # program sends the runner does not count.
  dir="$TMP/$runtime-deadline"
  new_job "$dir" bash main.sh
  printf 500 >"$dir/meta/wall_ms"
  printf '%s' 'kill -ALRM 1; echo started; sleep 30; echo never' >"$dir/work/main.sh"
  run_job "$runtime" "$sh" "$dir"
  if [[ "$(cat "$dir.rc")" == 3 && "$(cat "$dir.out")" == started ]] && ! grep -aq AIRLOCK-END "$dir.err"; then
    pass "$runtime bash: meta/wall_ms deadline kills the job and ends the container (exit 3)"
  else
    fail "$runtime: deadline: rc $(cat "$dir.rc"), stdout '$(cat -v "$dir.out" | head -c 200)'"
  fi

  # A hostile archive is refused before anything runs.
  dir="$TMP/$runtime-reject"
  new_job "$dir" bash main.sh
  ln -s /etc/passwd "$dir/work/main.sh"
  run_job "$runtime" "$sh" "$dir"
  if grep -aq $'\x1eAIRLOCK-REJECTED' "$dir.err" && [[ "$(cat "$dir.rc")" == 2 ]]; then
    pass "$runtime: symlink in the job archive rejected (container exit 2)"
  else
    fail "$runtime: reject check: rc $(cat "$dir.rc"), stderr $(cat -v "$dir.err" | head -c 300)"
  fi
}

for runtime in "${RUNTIMES[@]}"; do smoke_runtime "$runtime"; done
left="$(docker ps -aq --filter "label=airlock.smoke=$SMOKE_ID" | wc -l)"
if [[ "$left" == 0 ]]; then pass "no smoke containers left"; else fail "$left smoke containers left"; fi
echo "smoke: $PASSES passed, $FAILURES failed"
((FAILURES == 0))
