/* A child for the differential harness (tests/compat.rs): records what an
 * init did to it, the same way under every init.
 *
 * usage: probe LOG [-s] [-G LOG2]... [-x CODE] [-k SIG] [-T] [-e SIG]
 *
 * Writes to LOG (appending, one item a line):
 *   "mask BLK IGN CGT"  its SigBlk/SigIgn/SigCgt as the init left them,
 *   "ready"             once every signal is blocked (sigwaitinfo reads them),
 *   N                   each signal it receives, in order (never SIGCHLD).
 *   -s       setsid() first ("setsid" or "setsid-failed")
 *   -G LOG2  start a grandchild probe logging to LOG2 and wait until it is
 *            ready (repeatable)
 *   -D LOG2  the same, the grandchild in a session of its own (a daemon)
 *   -x CODE  exit with CODE once ready (leaving any grandchild behind)
 *   -k SIG   once ready, die of SIG
 *   -T       once ready, stop itself (SIGSTOP), then log as usual
 *   -e SIG   exit 0 on receiving SIG (default SIGTERM; 0: never), after
 *            logging what else is pending then (so a signal sent to the
 *            whole group just before is logged wherever SIG lands first)
 *   -F DISP LOG2 [ARGS]  a foreground runner, as a program running
 *            `os.system(...)` or a shell running a command: start a probe
 *            `LOG2 ARGS` (which may itself be a runner), wait until it is
 *            ready, give every signal but 64 (the harness's sentinel,
 *            always logged) the disposition DISP (d: default, i: ignored,
 *            h: a handler that logs it), log "ready", then wait for it and
 *            exit with its status (128+N if it died of signal N). Must be
 *            the last option.
 * Small and in C so that hundreds of scenarios start in milliseconds.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static int fd;

static void put(const char *line) {
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (write(fd, buf, n) != n) _exit(97);
}

/* Async-signal-safe: logs the signal number from a handler. */
static void on_signal(int sig) {
    char buf[8];
    int n = 0;
    if (sig >= 10) buf[n++] = '0' + sig / 10;
    buf[n++] = '0' + sig % 10;
    buf[n++] = '\n';
    if (write(fd, buf, n) != n) _exit(97);
}

static void put_mask(void) {
    char line[512], out[256] = "mask";
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) _exit(98);
    while (fgets(line, sizeof line, f)) {
        char *v;
        if (!strncmp(line, "SigBlk:", 7) || !strncmp(line, "SigIgn:", 7) ||
            !strncmp(line, "SigCgt:", 7)) {
            v = line + 7;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            strcat(out, " ");
            strcat(out, v);
        }
    }
    fclose(f);
    put(out);
}

/* Polls LOG2 for "ready" (the grandchild's start), up to 10 s. */
static void wait_ready(const char *path) {
    for (int i = 0; i < 10000; i++) {
        char buf[4096] = {0};
        int g = open(path, O_RDONLY);
        if (g >= 0) {
            ssize_t n = read(g, buf, sizeof buf - 1);
            close(g);
            if (n > 0 && strstr(buf, "ready\n")) return;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, 0);
    }
    _exit(96);
}

/* The foreground runner of -F (see the header). */
static int run_foreground(char **argv, char disp, char **rest) {
    pid_t pid = fork();
    if (pid == 0) {
        rest[-1] = argv[0];
        execv("/proc/self/exe", rest - 1);
        _exit(94);
    }
    if (pid < 0) return 92;
    wait_ready(rest[0]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_flags = SA_RESTART;
    sigfillset(&sa.sa_mask); /* one handler at a time: logged in order */
    for (int sig = 1; sig < 65; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
        if (sig == 64 || disp == 'h') {
            sa.sa_handler = on_signal;
        } else {
            sa.sa_handler = disp == 'i' ? SIG_IGN : SIG_DFL;
        }
        sigaction(sig, &sa, 0);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, 0);
    put("ready");
    int status;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return 95;
    put_mask();
    int exit_code = -1, die_of = 0, stop = 0, exit_on = SIGTERM;
    sigset_t all;
    sigfillset(&all);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-s")) {
            put(setsid() < 0 ? "setsid-failed" : "setsid");
        } else if ((!strcmp(argv[i], "-G") || !strcmp(argv[i], "-D")) && i + 1 < argc) {
            int daemon = argv[i][1] == 'D';
            const char *log2 = argv[++i];
            pid_t pid = fork();
            if (pid == 0) {
                if (daemon) setsid();
                execl("/proc/self/exe", argv[0], log2, (char *)0);
                _exit(94);
            }
            wait_ready(log2);
        } else if (!strcmp(argv[i], "-x") && i + 1 < argc) {
            exit_code = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-k") && i + 1 < argc) {
            die_of = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-T")) {
            stop = 1;
        } else if (!strcmp(argv[i], "-e") && i + 1 < argc) {
            exit_on = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "-F") && i + 2 < argc) {
            return run_foreground(argv, argv[i + 1][0], argv + i + 2);
        }
    }
    sigprocmask(SIG_BLOCK, &all, 0);
    put("ready");
    if (exit_code >= 0) _exit(exit_code);
    if (die_of) {
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, die_of);
        signal(die_of, SIG_DFL);
        kill(getpid(), die_of);
        sigprocmask(SIG_UNBLOCK, &one, 0);
        _exit(93);
    }
    if (stop) raise(SIGSTOP);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0 || sig == SIGCHLD) continue;
        char n[16];
        if (sig == exit_on) {
            struct timespec zero = {0, 0};
            int more;
            while ((more = sigtimedwait(&all, &info, &zero)) > 0) {
                if (more == SIGCHLD) continue;
                snprintf(n, sizeof n, "%d", more);
                put(n);
            }
            snprintf(n, sizeof n, "%d", sig);
            put(n);
            return 0;
        }
        snprintf(n, sizeof n, "%d", sig);
        put(n);
    }
}
