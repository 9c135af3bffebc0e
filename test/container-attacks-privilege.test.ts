// SECURITY.md class 17 (privilege) on the docker (runc) and gvisor (runsc) backends, through the real REST API:
// setuid, namespaces, mount, raw and packet sockets, kernel modules, bpf, keyctl and ptrace, each with the exact
// errno it gets on each runtime. It must never aim at anything outside the sandbox.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  BACKENDS,
  type ContainerBackend,
  containerJob,
  expectPrinted,
  useContainerService,
} from './support/containers.ts';

const SLOW = 120_000;

const service = useContainerService();

/** Python that runs each attempt in a fresh child process (no state carries over) and prints its errno. */
const SYSCALLS = `
import ctypes, errno, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def name_of(e):
    return errno.errorcode.get(e, str(e))
def syscall(nr, *args):
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    return name_of(ctypes.get_errno()) if r == -1 else 'OK'
def mount_tmpfs():
    r = libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, None)
    return name_of(ctypes.get_errno()) if r != 0 else 'OK'
def open_socket(family, kind, proto=0):
    socket.socket(family, kind, proto).close()
    return 'OK'
def fresh(name, fn):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = fn()
        except OSError as e:
            out = name_of(e.errno)
        os.write(w, str(out).encode())
        os._exit(0)
    os.close(w)
    out = os.read(r, 200).decode()
    os.waitpid(pid, 0)
    print(name, out)
SYS_SETUID, SYS_SETGID, SYS_UNSHARE, SYS_INIT_MODULE, SYS_FINIT_MODULE = 105, 106, 272, 175, 313
SYS_BPF, SYS_KEYCTL, SYS_ADD_KEY, SYS_PTRACE = 321, 250, 248, 101
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
PTRACE_ATTACH, PTRACE_KILL = 16, 8
`;

describe.each(BACKENDS)('container privilege attacks on %s', (backend: ContainerBackend) => {
  const job = containerJob(service, backend, 45_000);

  it(
    'class 17: privileged system calls are refused',
    async () => {
      const code = `${SYSCALLS}
fresh('setuid(0)', lambda: syscall(SYS_SETUID, 0))
fresh('setgid(0)', lambda: syscall(SYS_SETGID, 0))
fresh('unshare(user)', lambda: syscall(SYS_UNSHARE, CLONE_NEWUSER))
fresh('unshare(mount)', lambda: syscall(SYS_UNSHARE, CLONE_NEWNS))
fresh('unshare(net)', lambda: syscall(SYS_UNSHARE, CLONE_NEWNET))
fresh('mount', mount_tmpfs)
fresh('raw socket', lambda: open_socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
fresh('raw6 socket', lambda: open_socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6))
fresh('packet socket', lambda: open_socket(socket.AF_PACKET, socket.SOCK_RAW, 0))
fresh('init_module', lambda: syscall(SYS_INIT_MODULE, 0, 0, 0))
fresh('finit_module', lambda: syscall(SYS_FINIT_MODULE, 0, 0, 0))
fresh('bpf', lambda: syscall(SYS_BPF, 0, 0, 0))
fresh('keyctl', lambda: syscall(SYS_KEYCTL, 0, 0, 0))
fresh('add_key', lambda: syscall(SYS_ADD_KEY, 0, 0, 0, 0, 0))
`;
      const execution = await job('python', code);
      // The same on both runtimes: gVisor's kernel would grant user and mount namespaces, but the seccomp profile
      // runsc applies inside it (gvisor-seccomp.ts) refuses them. Only keyctl differs: gVisor answers EACCES.
      const keyErrno = backend === 'gvisor' ? 'EACCES' : 'EPERM';
      const expected = [
        'setuid(0) EPERM',
        'setgid(0) EPERM',
        'unshare(user) EPERM',
        'unshare(mount) EPERM',
        'unshare(net) EPERM',
        'mount EPERM',
        'raw socket EPERM',
        'raw6 socket EPERM',
        'packet socket EPERM',
        'init_module EPERM',
        'finit_module EPERM',
        'bpf EPERM',
        `keyctl ${keyErrno}`,
        `add_key ${keyErrno}`,
      ];
      expectPrinted(execution, expected);
    },
    SLOW,
  );

  it(
    'class 17: no user namespace, so no mount, no root and no network',
    async () => {
      const code = `${SYSCALLS}
import sys
print('unshare(user+mount)', syscall(SYS_UNSHARE, CLONE_NEWUSER | CLONE_NEWNS))
print('mount', mount_tmpfs())
print('setuid(0)', syscall(SYS_SETUID, 0))
print('interfaces', sorted(os.listdir('/sys/class/net')))
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        s.sendto(bytes([8, 0, 0xf7, 0xff, 0, 0, 0, 0]), (sys.argv[1], 0))
        print('raw send OK')
    except OSError as e:
        print('raw send', name_of(e.errno))
except OSError as e:
    print('raw socket', name_of(e.errno))
print('init_module', syscall(SYS_INIT_MODULE, 0, 0, 0))
print('bpf', syscall(SYS_BPF, 0, 0, 0))
`;
      const gateway = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(
        execFileSync('ip', ['-4', '-o', 'addr', 'show', 'docker0'], { encoding: 'utf8' }),
      )?.[1];
      const execution = await job('python', code, { args: [gateway] });
      // The same on both runtimes (gVisor: no namespace, see gvisor-seccomp.ts).
      const expected = [
        'unshare(user+mount) EPERM',
        'mount EPERM',
        'setuid(0) EPERM',
        "interfaces ['lo']",
        'raw socket EPERM',
        'init_module EPERM',
        'bpf EPERM',
      ];
      expectPrinted(execution, expected);
    },
    SLOW,
  );

  // pid 1 is the runner itself (no docker-init): it is not dumpable, so a job of the same uid cannot attach to it
  // (docker-init was dumpable, and Docker's default seccomp profile allows ptrace: a job could kill it).
  it(
    'class 17: ptrace of pid 1 is refused',
    async () => {
      const code = `${SYSCALLS}
import time
attached = syscall(SYS_PTRACE, PTRACE_ATTACH, 1, 0, 0)
print('ptrace(attach, 1)', attached, flush=True)
if attached == 'OK':
    time.sleep(0.2)
    print('ptrace(kill, 1)', syscall(SYS_PTRACE, PTRACE_KILL, 1, 0, 0), flush=True)
    time.sleep(1)
print('still running')
`;
      const execution = await job('python', code);
      expect(execution.result, `reason: ${execution.result.reason}`).toMatchObject({
        outcome: 'success',
        stdout: 'ptrace(attach, 1) EPERM\nstill running\n',
      });
    },
    SLOW,
  );
});
