// The seccomp profile of gvisor (runsc) containers. runsc runs with --oci-seccomp (scripts/setup-host.sh), so
// gVisor applies this profile inside its own kernel. Without it, gVisor grants user and mount namespaces to any
// job (SECURITY.md class 17 expects EPERM). Docker's default profile cannot be used there: runsc 2022 ignores its
// `errnoRet` and answers clone3 with EPERM instead of ENOSYS, so glibc does not fall back to clone and no thread
// can start. This profile allows everything else (gVisor's kernel is the boundary) and refuses namespaces:
// unshare and setns always, clone with any CLONE_NEW* flag. clone3 stays allowed: gVisor answers ENOSYS.
// runc containers keep Docker's default profile (the host kernel is the boundary there).

const NAMESPACE_FLAGS = {
  CLONE_NEWNS: 0x0002_0000,
  CLONE_NEWCGROUP: 0x0200_0000,
  CLONE_NEWUTS: 0x0400_0000,
  CLONE_NEWIPC: 0x0800_0000,
  CLONE_NEWUSER: 0x1000_0000,
  CLONE_NEWPID: 0x2000_0000,
  CLONE_NEWNET: 0x4000_0000,
} as const;

const PROFILE = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls: [
    { names: ['unshare', 'setns'], action: 'SCMP_ACT_ERRNO' },
    // SCMP_CMP_MASKED_EQ: (flags & value) == valueTwo, i.e. the flag is set.
    ...Object.values(NAMESPACE_FLAGS).map((flag) => ({
      names: ['clone'],
      action: 'SCMP_ACT_ERRNO',
      args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
    })),
  ],
};

/** The `SecurityOpt` entry that gives a container this profile (Docker takes the JSON itself). */
export const GVISOR_SECCOMP_OPT = `seccomp=${JSON.stringify(PROFILE)}`;
