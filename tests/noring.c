/* SPDX-License-Identifier: MIT */
/*
 * noring [--errno N] CMD [ARGS...]: run CMD where io_uring is refused, the
 * way Docker's and Podman's default seccomp profiles refuse it:
 * io_uring_setup, io_uring_enter and io_uring_register fail with EPERM (or
 * errno N). A raw classic-BPF filter (no libseccomp needed), installed with
 * no_new_privs, inherited by CMD and its children.
 * Exit: 2 usage or filter refused, 127 exec failed.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

int main(int argc, char **argv)
{
	int err = EPERM, i = 1;
	if (argc > 2 && !strcmp(argv[1], "--errno")) {
		err = atoi(argv[2]);
		i = 3;
	}
	if (i >= argc || err <= 0 || err > 4095) {
		fprintf(stderr, "usage: noring [--errno N] CMD [ARGS...]\n");
		return 2;
	}
	struct sock_filter f[] = {
#ifdef ARCH
		/* another ABI (x32, i386 on x86-64): let it be */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
#endif
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_enter, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_register, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
	};
	struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		fprintf(stderr, "noring: cannot install the seccomp filter: %s\n", strerror(errno));
		return 2;
	}
	execvp(argv[i], argv + i);
	fprintf(stderr, "noring: cannot run '%s': %s\n", argv[i], strerror(errno));
	return 127;
}
