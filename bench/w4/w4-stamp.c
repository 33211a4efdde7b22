/* w4-stamp FILE ARG...: the W4 benchmark's notification command. Reads CLOCK_REALTIME first,
 * then appends "<ns> ARG..." to FILE with O_APPEND in one write(2). Built static by
 * bench/w4/bench.py (cc -O2 -static): exec + run costs ~0.3 ms of CPU here, against
 * ~0.8 ms for a dynamically linked Rust std binary; the fixture should not eat the cores
 * the daemons under test need. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (argc < 2) return 2;
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%lld%09ld", (long long)ts.tv_sec, ts.tv_nsec);
    for (int i = 2; i < argc && n < (int)sizeof buf - 2; i++) {
        size_t l = strlen(argv[i]);
        if (l > sizeof buf - 2 - n - 1) l = sizeof buf - 2 - n - 1;
        buf[n++] = ' ';
        for (size_t j = 0; j < l; j++) buf[n++] = argv[i][j] == '\n' ? ' ' : argv[i][j];
    }
    buf[n++] = '\n';
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 1;
    return write(fd, buf, n) == n ? 0 : 1;
}
