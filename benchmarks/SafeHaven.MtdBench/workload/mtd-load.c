/* The moving-target benchmark's workload: a CPU + memory loop that reports its progress.
 * One op read-modify-writes 64 KiB of a 32 MiB buffer (so a VM keeps dirtying pages that a
 * post-copy migration must carry), and the loop prints "ops N rate R" (cumulative ops, ops/s over the
 * last second of its own clock) about once a second. The host times the lines itself: a guest's clock
 * does not see the pauses a migration causes. As a guest's /init (pid 1) it mounts /dev and writes to
 * ttyS0; as a host process it writes to stdout, or appends to the file named by its first argument (a
 * container's output, which CRIU restores as the same open file). Built static: gcc -O2 -static -o mtd-load mtd-load.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#define BUF (32u << 20)
#define OP (64u << 10)

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    FILE *out = stdout;
    if (argc > 1) {
        out = fopen(argv[1], "a");
        if (out == NULL) {
            return 1;
        }
    } else if (getpid() == 1) {
        mount("dev", "/dev", "devtmpfs", 0, NULL);
        out = fopen("/dev/ttyS0", "w");
        if (out == NULL) {
            for (;;) pause(); /* pid 1 must not exit: the kernel would panic */
        }
    }
    uint64_t *buf = malloc(BUF);
    if (buf == NULL) {
        fprintf(out, "mtd-load: no memory\n");
        fflush(out);
        for (;;) pause();
    }
    memset(buf, 1, BUF);
    uint64_t ops = 0, x = 88172645463325252ull, last_ops = 0;
    double last = now();
    for (;;) {
        uint64_t *p = buf + (ops * OP % BUF) / sizeof(uint64_t);
        for (size_t i = 0; i < OP / sizeof(uint64_t); i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            p[i] = p[i] * 6364136223846793005ull + x;
        }
        ops++;
        if ((ops & 63) == 0) {
            double t = now();
            if (t - last >= 1.0) {
                fprintf(out, "ops %llu rate %.0f sum %llu\n", (unsigned long long)ops,
                        (ops - last_ops) / (t - last), (unsigned long long)(p[0] & 0xffff));
                fflush(out);
                last = t;
                last_ops = ops;
            }
        }
    }
}
