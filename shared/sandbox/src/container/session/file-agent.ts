// The python program the session files API runs inside a session container (`docker exec`, as the sandbox uid,
// with the container's own limits): one operation on one path under /work — put (exactly N bytes from stdin),
// get, list, delete, or collect (the regular files under /work/out written since a time). Every path is walked
// from /work one segment at a time, each lstat'ed, opened with O_NOFOLLOW and checked to be the inode it
// lstat'ed, so no link is followed, in /work or out of it (O_NOFOLLOW alone is not enough under gVisor); only regular
// files are read or written (O_NONBLOCK, so a FIFO never blocks it). Its stdout is as hostile as any guest
// output: the host bounds and checks it (container-session-files.ts). Exit codes are its answer.

/** What the agent's exit code means. */
export const AGENT_EXIT = {
  ok: 0,
  missing: 2,
  /** A link, a directory where a file was meant (or the other way round), a FIFO, a folder not empty. */
  notRegular: 3,
  tooLarge: 4,
  noSpace: 6,
} as const;

const SOURCE = String.raw`
import errno, json, os, stat, sys, base64
op, path, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
def out(code, word=''):
    sys.stderr.write(word)
    sys.stderr.flush()
    os._exit(code)
def fault(e):
    if isinstance(e, FileNotFoundError): out(2, 'missing')
    if e.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT): out(6, 'no space')
    if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.ENOTEMPTY, errno.EMLINK, errno.ENXIO): out(3, 'not regular')
    out(1, e.__class__.__name__)
def opened(name, flags, dfd, mode=0o644):
    # O_NOFOLLOW alone is not trusted (gVisor 2022 follows a link opened with O_DIRECTORY): the name is
    # lstat'ed first, and what was opened must be that very inode.
    try:
        before = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        before = None
        if not flags & os.O_CREAT: raise
    if before is not None and stat.S_ISLNK(before.st_mode): out(3, 'link')
    fd = os.open(name, flags, mode, dir_fd=dfd)
    now = os.fstat(fd)
    if before is not None and (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino): out(3, 'link')
    if before is None and now.st_nlink != 1: out(3, 'link')
    return fd
def walk(parts, create):
    fd = os.open('/work', DIR)
    for name in parts:
        try:
            nfd = opened(name, DIR, fd)
        except FileNotFoundError:
            if not create: raise
            os.mkdir(name, 0o755, dir_fd=fd)
            nfd = opened(name, DIR, fd)
        os.close(fd)
        fd = nfd
    return fd
def regular(fd):
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode): out(3, 'not regular')
    return st
def read_all(fd, limit):
    chunks, size = [], 0
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk: return b''.join(chunks)
        size += len(chunk)
        if size > limit: out(4, 'too large')
        chunks.append(chunk)
parts = [p for p in path.split('/') if p]
try:
    if op == 'put':
        dfd = walk(parts[:-1], True)
        fd = opened(parts[-1], os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dfd)
        regular(fd)
        os.ftruncate(fd, 0)
        left = arg
        while left > 0:
            chunk = sys.stdin.buffer.read(min(left, 1 << 16))
            if not chunk: out(1, 'short input')
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]
            left -= len(chunk)
        os.close(fd)
    elif op == 'get':
        dfd = walk(parts[:-1], False)
        fd = opened(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dfd)
        if regular(fd).st_size > arg: out(4, 'too large')
        sys.stdout.buffer.write(read_all(fd, arg))
    elif op == 'list':
        fd = walk(parts, False)
        entries, more = [], False
        with os.scandir(fd) as it:
            for entry in it:
                if len(entries) >= arg:
                    more = True
                    break
                st = entry.stat(follow_symlinks=False)
                kind = 'file' if stat.S_ISREG(st.st_mode) else 'directory' if stat.S_ISDIR(st.st_mode) else 'symlink' if stat.S_ISLNK(st.st_mode) else 'other'
                entries.append({'name': entry.name, 'type': kind, 'size': st.st_size, 'mtime_ms': st.st_mtime_ns // 1000000})
        sys.stdout.write(json.dumps({'entries': entries, 'truncated': more}))
    elif op == 'delete':
        dfd = walk(parts[:-1], False)
        st = os.stat(parts[-1], dir_fd=dfd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode): os.rmdir(parts[-1], dir_fd=dfd)
        else: os.unlink(parts[-1], dir_fd=dfd)
    elif op == 'collect':
        since_ns, limit, files, total, refused = arg * 1000000, int(sys.argv[4]), [], 0, 0
        try:
            root = walk(['out'], False)
        except FileNotFoundError:
            root = None
        stack = [(root, '')] if root is not None else []
        while stack:
            dfd, prefix = stack.pop()
            with os.scandir(dfd) as it:
                names = sorted((e.name, e.stat(follow_symlinks=False)) for e in it)
            for name, st in names:
                rel = prefix + name
                if stat.S_ISDIR(st.st_mode):
                    stack.append((opened(name, DIR, dfd), rel + '/'))
                elif not stat.S_ISREG(st.st_mode):
                    refused += 1
                elif st.st_mtime_ns >= since_ns:
                    if total + st.st_size > limit:
                        refused += 1
                        continue
                    fd = opened(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dfd)
                    regular(fd)
                    data = read_all(fd, limit - total)
                    total += len(data)
                    files.append({'path': rel, 'content': base64.b64encode(data).decode()})
        sys.stdout.write(json.dumps({'files': files, 'refused': refused}))
    else:
        out(1, 'unknown op')
except OSError as e:
    fault(e)
sys.stdout.flush()
out(0)
`;

export type AgentOp = 'put' | 'get' | 'list' | 'delete' | 'collect';

/** The command line of one agent operation (`arg`: bytes for put, a bound for get/list, ms since for collect). */
export function agentCommand(
  op: AgentOp,
  path: string,
  arg: number,
  extra: readonly string[] = [],
): string[] {
  return ['python3', '-I', '-S', '-c', SOURCE, op, path, String(Math.floor(arg)), ...extra];
}
