/*
 * slim-sensor: the first process of a probe container.
 *
 * slim runs the target image with this static binary as its entrypoint (as root, from a read-only
 * volume at /.slim-probe) to learn which files the app touches. It records file opens with
 * fanotify, or starts the app under the strace that ships beside it, or both, then drops to the
 * image's user and execs the app, and behaves as a tiny init meanwhile: it forwards signals to the
 * app, reaps orphans and exits with the app's status. It must not use any file of the image (the
 * image may have no libc at all), hence static, and the probe's location is taken from
 * /proc/self/exe.
 *
 *   slim-sensor [--fanotify OUT.jsonl] [--strace RAW.log | --syscalls OUT] [--user UID:GID[:G1,G2,...]]
 *               [--drop-caps CAP,CAP...] -- CMD [ARG...]
 *   slim-sensor --exec-as UID:GID[:G1,G2,...] [--drop-caps CAP,...] [--notify-fd N] -- CMD [ARG...]   (internal step)
 *
 * --fanotify OUT  Marks the root mount (only: volumes, /proc and the engine's bind mounts are other
 *                 mounts) for FAN_OPEN|FAN_OPEN_EXEC, and FAN_ACCESS|FAN_ONDIR for directory reads,
 *                 before the app starts, and writes one JSON line per distinct (op, path):
 *                 {"pid":123,"op":"open","path":"/etc/os-release","ok":true,"via":"fanotify"}
 *                 op is "exec" for FAN_OPEN_EXEC, "list" for a directory read (getdents), else
 *                 "open". Reads of files are not recorded: the first one of each file puts an
 *                 ignore mark on it, so reading costs nothing after that. Path bytes >= 0x80 and < 0x20 are
 *                 written as \u00XX (one code point per byte, latin1). A queue overflow is written as
 *                 {"pid":0,"op":"other","path":"","ok":false,"err":"OVERFLOW","via":"fanotify"}.
 *                 Without CAP_SYS_ADMIN: one "slim-sensor: fanotify_init: ..." line, exit 125.
 * --strace RAW    Runs <probe>/lib/ld-linux-x86-64.so.2 --library-path <probe>/lib --inhibit-cache
 *                 <probe>/strace -f --seccomp-bpf -qq -y -e trace=%file,%process,fchdir,getdents,getdents64 -o RAW
 *                 [-E LD_x=...] -- <probe>/slim-sensor --exec-as U:G:groups --notify-fd N -- CMD...
 *                 The exec-as step writes its pid to fd N, drops identity and execs the app, so
 *                 the app keeps that pid and this process can signal it.
 *                 Needs CAP_SYS_PTRACE (checked: without it strace can't read a non-root app).
 * --syscalls OUT  As --strace, but strace -f -qq -c: a count of every system call, for a seccomp profile.
 * --exact-privileges
 *                 strace without --seccomp-bpf: slower, but its filter needs no_new_privs, which stops
 *                 a setuid/setgid file or a file capability from raising the app's privileges at exec.
 * --user U:G:g,g  Identity for the app (setgroups, setgid, setuid); without it the app stays root.
 * --drop-caps L   Capabilities (names without CAP_, or numbers) the container got for the probe only:
 *                 the app loses them from every set (bounding, permitted, effective, inheritable,
 *                 ambient), so it runs as it would under `docker run` with the user's own settings.
 *
 * The app sees what runc gives a process: fds 0-2 owned by its uid unless they are /dev/null (so a
 * non-root app can open /dev/stderr), default signal dispositions, an empty signal mask, and none
 * of the probe's capabilities. What differs is documented in README.md (PIDs, TracerPid under strace).
 *
 * As init: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH go to the app (under
 * strace held until the app's pid is known), every child is reaped, and when the app exits, so do
 * we, after draining fanotify. Under strace, whatever the app left running is SIGKILLed when it
 * exits (as the kernel does when a container's PID 1 exits), or `strace -f` would wait for it.
 *
 * Exit status: the app's (or strace's, which mirrors the app's), 128+signal if it was killed;
 * 125 for a usage error or a probe that could not start; 127/126 when CMD can't be executed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef FAN_OPEN_EXEC
#define FAN_OPEN_EXEC 0x00001000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define EXIT_PROBE 125

extern char **environ;

/* ---------------------------------------------------------------- small helpers */

static void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(int code, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    /* One write, so the line is not interleaved with the app's stderr. */
    ssize_t ignored = write(2, "slim-sensor: ", 13);
    ignored = write(2, line, (size_t)n);
    (void)ignored;
    _exit(code);
}

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "slim-sensor: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(line);
    line[len++] = '\n';
    ssize_t ignored = write(2, line, len);
    (void)ignored;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fail(EXIT_PROBE, "out of memory");
    return p;
}

static void write_all(int fd, const char *buf, size_t len)
{
    static int warned;
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            /* A full /.slim-out must not take the app down with it: say so once, keep running. */
            if (!warned) warn("write trace: %s", strerror(n < 0 ? errno : EIO));
            warned = 1;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

static int parse_uint(const char *s, const char *end, unsigned long *out)
{
    if (s == end) return -1;
    unsigned long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') return -1;
        unsigned long d = (unsigned long)(*p - '0');
        if (v > (0xFFFFFFFFul - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- identity */

struct identity {
    uid_t uid;
    gid_t gid;
    size_t ngroups;
    gid_t *groups;
};

/* "UID:GID[:G1,G2,...]", numbers only: names would need the image's /etc/passwd and a libc. */
static int parse_identity(const char *spec, struct identity *id)
{
    const char *c1 = strchr(spec, ':');
    if (!c1) return -1;
    const char *c2 = strchr(c1 + 1, ':');
    const char *gend = c2 ? c2 : c1 + strlen(c1);
    unsigned long v;
    if (parse_uint(spec, c1, &v) || v == 0xFFFFFFFFul) return -1;
    id->uid = (uid_t)v;
    if (parse_uint(c1 + 1, gend, &v) || v == 0xFFFFFFFFul) return -1;
    id->gid = (gid_t)v;
    id->ngroups = 0;
    id->groups = NULL;
    if (!c2 || !c2[1]) return 0;
    size_t cap = 1;
    for (const char *p = c2 + 1; *p; p++) cap += *p == ',';
    id->groups = xmalloc(cap * sizeof *id->groups);
    for (const char *p = c2 + 1;;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        if (parse_uint(p, e, &v) || v == 0xFFFFFFFFul) return -1;
        id->groups[id->ngroups++] = (gid_t)v;
        if (!*e) break;
        p = e + 1;
    }
    return 0;
}

/* The caller's own ids, so the strace path always has an identity to hand to --exec-as. */
static char *current_identity_spec(void)
{
    int n = getgroups(0, NULL);
    gid_t *g = xmalloc((size_t)(n > 0 ? n : 1) * sizeof *g);
    n = getgroups(n > 0 ? n : 0, g);
    if (n < 0) n = 0;
    size_t cap = 64 + (size_t)n * 11;
    char *s = xmalloc(cap);
    size_t len = (size_t)snprintf(s, cap, "%u:%u:", (unsigned)getuid(), (unsigned)getgid());
    for (int i = 0; i < n; i++) len += (size_t)snprintf(s + len, cap - len, "%s%u", i ? "," : "", (unsigned)g[i]);
    free(g);
    return s;
}

/* Groups first: after setuid we would no longer be allowed to change them. */
static void drop_identity(const struct identity *id)
{
    if (setgroups(id->ngroups, id->groups) != 0) fail(EXIT_PROBE, "setgroups: %s", strerror(errno));
    if (setgid(id->gid) != 0) fail(EXIT_PROBE, "setgid %u: %s", (unsigned)id->gid, strerror(errno));
    if (setuid(id->uid) != 0) fail(EXIT_PROBE, "setuid %u: %s", (unsigned)id->uid, strerror(errno));
}

/* ---------------------------------------------------------------- what the app sees */

static const char *const cap_names[] = {
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
    "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
    "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
    "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
};

/* A bit per capability number; 64 covers every capability Linux defines. */
static int parse_caps(const char *list, uint64_t *out)
{
    *out = 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        size_t n = (size_t)(e - p);
        if (n > 4 && strncasecmp(p, "CAP_", 4) == 0) p += 4, n -= 4;
        unsigned long v;
        int found = -1;
        if (parse_uint(p, p + n, &v) == 0 && v < 64) found = (int)v;
        for (size_t i = 0; found < 0 && i < sizeof cap_names / sizeof *cap_names; i++)
            if (strlen(cap_names[i]) == n && strncasecmp(cap_names[i], p, n) == 0) found = (int)i;
        if (found < 0) return -1;
        *out |= 1ull << found;
        p = *e ? e + 1 : e;
    }
    return 0;
}

/*
 * runc's fixStdioPermissions: fds 0-2 come from outside the container, owned by root; runc hands
 * them to a non-root user (uid only) unless they are /dev/null. Without it an app that opens
 * /dev/stderr (a pipe reopened through /proc) gets EACCES under the probe and not under docker run.
 */
static void own_stdio(uid_t uid)
{
    struct stat null;
    int have_null = stat("/dev/null", &null) == 0;
    for (int fd = 0; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) != 0 || st.st_uid == uid) continue;
        if (have_null && S_ISCHR(st.st_mode) && st.st_rdev == null.st_rdev) continue;
        if (fchown(fd, uid, (gid_t)-1) != 0 && errno != EINVAL && errno != EPERM)
            fail(EXIT_PROBE, "fchown fd %d: %s", fd, strerror(errno));
    }
}

static void drop_bounding(uint64_t caps)
{
    for (int c = 0; c < 64; c++) {
        if (!(caps >> c & 1)) continue;
        /* EINVAL: a capability this kernel does not know, so the app cannot have it either. */
        if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) fail(EXIT_PROBE, "drop capability %d from the bounding set: %s", c, strerror(errno));
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, c, 0, 0);
    }
}

/* After setuid: a root app still holds them in its permitted, effective and inheritable sets. */
static void drop_held(uint64_t caps)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) != 0) fail(EXIT_PROBE, "capget: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        uint32_t keep = ~(uint32_t)(caps >> (32 * i));
        data[i].effective &= keep;
        data[i].permitted &= keep;
        data[i].inheritable &= keep;
    }
    if (syscall(SYS_capset, &hdr, data) != 0) fail(EXIT_PROBE, "capset: %s", strerror(errno));
}

/* The app's process as runc would have made it: stdio, identity, capabilities, signals. */
static void become_app(const struct identity *id, uint64_t drop_caps)
{
    own_stdio(id ? id->uid : getuid());
    drop_bounding(drop_caps);
    if (id) drop_identity(id);
    drop_held(drop_caps);
    /* strace ignores SIGTTOU/SIGTTIN for itself; exec keeps ignored dispositions, runc leaves none. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Exit codes as a shell gives them, so the driver can't tell the sensor from `sh -c`. */
static void exec_app(char **argv) __attribute__((noreturn));
static void exec_app(char **argv)
{
    execvp(argv[0], argv);
    int err = errno;
    fail(err == ENOENT ? 127 : 126, "exec %s: %s", argv[0], strerror(err));
}

/* ---------------------------------------------------------------- fanotify recording */

/* Distinct (op, path) keys: apps reopen the same files thousands of times, the trace needs one. */
static struct {
    char **slot;
    size_t cap, used;
} seen;

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Keys are stored length-prefixed because paths are bytes, not C strings we can trust. */
static int seen_insert(char op, const char *path, size_t len)
{
    if (seen.used * 2 >= seen.cap) {
        size_t ncap = seen.cap ? seen.cap * 2 : 4096;
        char **nslot = calloc(ncap, sizeof *nslot);
        if (!nslot) fail(EXIT_PROBE, "out of memory");
        for (size_t i = 0; i < seen.cap; i++) {
            char *k = seen.slot[i];
            if (!k) continue;
            size_t klen;
            memcpy(&klen, k, sizeof klen);
            size_t j = fnv1a(k + sizeof klen, klen) & (ncap - 1);
            while (nslot[j]) j = (j + 1) & (ncap - 1);
            nslot[j] = k;
        }
        free(seen.slot);
        seen.slot = nslot;
        seen.cap = ncap;
    }
    size_t klen = len + 1;
    char *key = xmalloc(sizeof klen + klen);
    memcpy(key, &klen, sizeof klen);
    key[sizeof klen] = op;
    memcpy(key + sizeof klen + 1, path, len);
    size_t j = fnv1a(key + sizeof klen, klen) & (seen.cap - 1);
    for (; seen.slot[j]; j = (j + 1) & (seen.cap - 1)) {
        size_t olen;
        memcpy(&olen, seen.slot[j], sizeof olen);
        if (olen == klen && memcmp(seen.slot[j] + sizeof olen, key + sizeof klen, klen) == 0) {
            free(key);
            return 0;
        }
    }
    seen.slot[j] = key;
    seen.used++;
    return 1;
}

static struct {
    char *buf;
    size_t len, cap;
} out;

static void out_put(const char *s, size_t n)
{
    if (out.len + n > out.cap) {
        size_t ncap = out.cap ? out.cap : 65536;
        while (ncap < out.len + n) ncap *= 2;
        char *nbuf = realloc(out.buf, ncap);
        if (!nbuf) fail(EXIT_PROBE, "out of memory");
        out.buf = nbuf;
        out.cap = ncap;
    }
    memcpy(out.buf + out.len, s, n);
    out.len += n;
}

static void out_str(const char *s) { out_put(s, strlen(s)); }

/* Every byte >= 0x80 as \u00XX too: the reader decodes latin1, so a name that isn't UTF-8 survives. */
static void out_json_bytes(const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            out_put(e, 2);
        } else if (c < 0x20 || c >= 0x80) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            out_put(e, 6);
        } else {
            out_put((const char *)&c, 1);
        }
    }
}

static void out_record(pid_t pid, const char *op, const char *path, size_t len)
{
    char num[32];
    snprintf(num, sizeof num, "%d", (int)pid);
    out_str("{\"pid\":");
    out_str(num);
    out_str(",\"op\":\"");
    out_str(op);
    out_str("\",\"path\":\"");
    out_json_bytes(path, len);
    out_str("\",\"ok\":true,\"via\":\"fanotify\"}\n");
}

static struct {
    int fd;        /* fanotify group, -1 when not recording */
    int out_fd;
    pid_t self;
    pid_t also_ignore; /* strace itself: its loader and libc reads are the probe's, not the app's */
    int warned_overflow;
} fan = {.fd = -1, .out_fd = -1};

static void fan_start(const char *out_path)
{
    fan.out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fan.out_fd < 0) fail(EXIT_PROBE, "open %s: %s", out_path, strerror(errno));
    /* Unlimited marks: every file read gets an ignore mark (see fan_handle). */
    fan.fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_UNLIMITED_MARKS,
                           O_RDONLY | O_LARGEFILE | O_CLOEXEC);
    if (fan.fd < 0) fail(EXIT_PROBE, "fanotify_init: %s (the fanotify probe needs CAP_SYS_ADMIN)", strerror(errno));
    /* FAN_MARK_MOUNT on "/" sees the image's files and nothing mounted over or beside them. */
    if (fanotify_mark(fan.fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN | FAN_OPEN_EXEC | FAN_ACCESS | FAN_ONDIR, AT_FDCWD, "/") != 0) {
        /* Kernels before 5.0 don't know FAN_OPEN_EXEC; exec'd files then show up as plain opens. */
        if (errno != EINVAL || fanotify_mark(fan.fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN | FAN_ACCESS | FAN_ONDIR, AT_FDCWD, "/") != 0)
            fail(EXIT_PROBE, "fanotify_mark: %s (the fanotify probe needs CAP_SYS_ADMIN)", strerror(errno));
    }
    fan.self = getpid();
}

static void fan_handle(const struct fanotify_event_metadata *ev)
{
    if (ev->mask & FAN_Q_OVERFLOW) {
        out_str("{\"pid\":0,\"op\":\"other\",\"path\":\"\",\"ok\":false,\"err\":\"OVERFLOW\",\"via\":\"fanotify\"}\n");
        if (!fan.warned_overflow) warn("fanotify queue overflowed: some opens were not recorded");
        fan.warned_overflow = 1;
        return;
    }
    if (ev->fd < 0) return;
    /* fd-mode fanotify never reports FAN_ONDIR to the listener: the fd says what the object is. */
    struct stat st;
    int is_dir = fstat(ev->fd, &st) == 0 && S_ISDIR(st.st_mode);
    if (ev->pid != fan.self && ev->pid != fan.also_ignore) {
        char link[64], path[PATH_MAX + 16];
        snprintf(link, sizeof link, "/proc/self/fd/%d", ev->fd);
        ssize_t n = readlink(link, path, sizeof path);
        if (n > 0 && (size_t)n < sizeof path) {
            static const char deleted[] = " (deleted)";
            size_t len = (size_t)n, dl = sizeof deleted - 1;
            if (len > dl && memcmp(path + len - dl, deleted, dl) == 0) len -= dl;
            if (is_dir) {
                /* A directory read (getdents): what the app learns by listing is evidence too. */
                if ((ev->mask & FAN_ACCESS) && seen_insert('l', path, len)) out_record(ev->pid, "list", path, len);
            } else {
                if ((ev->mask & FAN_OPEN_EXEC) && seen_insert('x', path, len)) out_record(ev->pid, "exec", path, len);
                if ((ev->mask & FAN_OPEN) && seen_insert('o', path, len)) out_record(ev->pid, "open", path, len);
            }
        }
    }
    if ((ev->mask & FAN_ACCESS) && !is_dir) {
        /* A file read says nothing its open did not: an ignore mark on the inode stops every
         * further read of it from costing an event (and an fd) at all. */
        fanotify_mark(fan.fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_ACCESS, ev->fd, NULL);
    }
    close(ev->fd);
}

/*
 * One read's worth of events, written with one write(2): nothing sits in a buffer a SIGKILL could
 * lose. Returns whether the read filled the buffer (more are likely waiting). The buffer is small
 * because the kernel opens one fd per event it hands us: a few hundred stay well within even a
 * 1024 file limit, where a failure would drop events.
 */
#define FAN_BUF (8 * 1024)
static int fan_read_batch(int *full)
{
    static union {
        struct fanotify_event_metadata align;
        char bytes[FAN_BUF];
    } buf;
    ssize_t len = read(fan.fd, buf.bytes, sizeof buf.bytes);
    if (full) *full = len > (ssize_t)(sizeof buf.bytes - 2 * sizeof(struct fanotify_event_metadata));
    if (len <= 0) return 0;
    const struct fanotify_event_metadata *ev = &buf.align;
    for (; FAN_EVENT_OK(ev, len); ev = FAN_EVENT_NEXT(ev, len)) {
        if (ev->vers != FANOTIFY_METADATA_VERSION) fail(EXIT_PROBE, "fanotify: unexpected metadata version %u", ev->vers);
        fan_handle(ev);
    }
    if (out.len) write_all(fan.out_fd, out.buf, out.len);
    out.len = 0;
    return 1;
}

/* After the app is gone: what the kernel still queued, bounded in case an orphan keeps opening. */
static void fan_drain(void)
{
    if (fan.fd < 0) return;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (fan_read_batch(NULL)) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 2) break;
    }
}

/* ---------------------------------------------------------------- process supervision */

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

static int status_code(int st)
{
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return EXIT_PROBE;
}

/*
 * SIGKILL every descendant but `keep`, as the kernel does to a container's processes when its
 * PID 1 exits. Needed under strace: `strace -f` waits for every tracee, so a daemon the app left
 * behind would otherwise keep strace, and so the container, alive.
 */
static void kill_descendants(pid_t keep)
{
    DIR *d = opendir("/proc");
    if (!d) return;
    size_t n = 0, cap = 256;
    pid_t *pid = xmalloc(cap * sizeof *pid), *ppid = xmalloc(cap * sizeof *ppid);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        char p[300], buf[512];
        snprintf(p, sizeof p, "/proc/%s/stat", de->d_name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0) continue;
        buf[len] = 0;
        char *rp = strrchr(buf, ')'); /* the command name may contain anything, even ") " */
        int pp;
        if (!rp || sscanf(rp + 1, " %*c %d", &pp) != 1) continue;
        if (n == cap) {
            cap *= 2;
            pid_t *np = realloc(pid, cap * sizeof *pid), *npp = np ? realloc(ppid, cap * sizeof *ppid) : NULL;
            if (!np || !npp) fail(EXIT_PROBE, "out of memory");
            pid = np;
            ppid = npp;
        }
        pid[n] = (pid_t)atoi(de->d_name);
        ppid[n++] = (pid_t)pp;
    }
    closedir(d);
    /* Mark descendants of ourselves by repeated passes: /proc order is not tree order. */
    char *mine = calloc(n ? n : 1, 1);
    if (!mine) fail(EXIT_PROBE, "out of memory");
    pid_t self = getpid();
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (mine[i]) continue;
            int parent_mine = ppid[i] == self;
            for (size_t j = 0; !parent_mine && j < n; j++) parent_mine = mine[j] && pid[j] == ppid[i];
            if (parent_mine) mine[i] = changed = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (mine[i] && pid[i] != keep && pid[i] != self) kill(pid[i], SIGKILL);
    free(mine);
    free(pid);
    free(ppid);
}

/* Is `pid` gone (exited, even if not yet reaped)? Used only where pidfd_open is unavailable. */
static int proc_gone(pid_t pid)
{
    char p[64], buf[512];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    ssize_t len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) return 1;
    buf[len] = 0;
    char *rp = strrchr(buf, ')');
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X';
}

static int has_cap_sys_ptrace(void)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) != 0) return 1; /* can't tell: let strace try */
    return (data[CAP_SYS_PTRACE / 32].effective >> (CAP_SYS_PTRACE % 32)) & 1;
}

struct opts {
    const char *fanotify_out;
    const char *strace_out;
    int syscall_summary; /* --syscalls: strace counts every system call instead of logging file calls */
    int exact_privileges;
    const char *user;
    uint64_t drop_caps;
    const char *exec_as;
    int notify_fd;
    char **cmd;
};

static void usage_error(const char *what) __attribute__((noreturn));
static void usage_error(const char *what)
{
    fail(EXIT_PROBE, "%s (usage: slim-sensor [--fanotify OUT] [--strace RAW | --syscalls OUT] [--user UID:GID[:G,...]] [--drop-caps CAP,...] [--exact-privileges] -- CMD [ARG...])", what);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof *o);
    o->notify_fd = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strncmp(a, "--", 2) != 0) break;
        const char **slot = NULL;
        const char *notify = NULL, *caps = NULL;
        if (strcmp(a, "--fanotify") == 0) slot = &o->fanotify_out;
        else if (strcmp(a, "--strace") == 0) slot = &o->strace_out;
        else if (strcmp(a, "--syscalls") == 0) {
            slot = &o->strace_out;
            o->syscall_summary = 1;
        }
        else if (strcmp(a, "--exact-privileges") == 0) {
            o->exact_privileges = 1;
            continue;
        }
        else if (strcmp(a, "--user") == 0) slot = &o->user;
        else if (strcmp(a, "--exec-as") == 0) slot = &o->exec_as;
        else if (strcmp(a, "--notify-fd") == 0) slot = &notify;
        else if (strcmp(a, "--drop-caps") == 0) slot = &caps;
        else {
            char msg[256];
            snprintf(msg, sizeof msg, "unknown option %.200s", a);
            usage_error(msg);
        }
        if (i + 1 >= argc || !argv[i + 1][0]) {
            char msg[256];
            snprintf(msg, sizeof msg, "%.200s needs a value", a);
            usage_error(msg);
        }
        *slot = argv[++i];
        if (notify) {
            unsigned long v;
            if (parse_uint(notify, notify + strlen(notify), &v) || v > INT_MAX) usage_error("--notify-fd needs a file descriptor number");
            o->notify_fd = (int)v;
        }
        if (caps && parse_caps(caps, &o->drop_caps)) usage_error("--drop-caps needs capability names or numbers, comma-separated");
    }
    if (i >= argc) usage_error("no command given");
    o->cmd = argv + i;
    if (o->exec_as && (o->fanotify_out || o->strace_out || o->user)) usage_error("--exec-as takes only --notify-fd and --drop-caps");
    if (!o->exec_as && o->notify_fd >= 0) usage_error("--notify-fd goes with --exec-as");
}

/* The internal step strace runs: announce our pid (which the app keeps), become the user, exec. */
static void exec_as_main(const struct opts *o)
{
    struct identity id;
    if (parse_identity(o->exec_as, &id)) usage_error("--exec-as needs UID:GID[:G1,G2,...]");
    if (o->notify_fd >= 0) {
        char line[32];
        int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
        write_all(o->notify_fd, line, (size_t)n);
        close(o->notify_fd);
    }
    /* Our own blocking above, and whatever strace (-I never) blocked in itself, is not the app's:
     * become_app clears it with the rest. */
    become_app(&id, o->drop_caps);
    exec_app(o->cmd);
}

/* argv for the loader running strace; the app's LD_* settings go to the app via -E, not to strace. */
static char **strace_argv(const char *probe, const struct opts *o, const char *spec, int notify_fd, char ***envp)
{
    size_t nenv = 0, ncmd = 0;
    while (environ[nenv]) nenv++;
    while (o->cmd[ncmd]) ncmd++;
    char **argv = xmalloc((32 + 2 * nenv + ncmd) * sizeof *argv);
    char **env = xmalloc((nenv + 1) * sizeof *env);
    size_t a = 0, e = 0;
    char *s;
#define ARG(x) (argv[a++] = (x))
#define PATHARG(fmt) (asprintf(&s, fmt, probe) < 0 ? fail(EXIT_PROBE, "out of memory") : (void)0, ARG(s))
    PATHARG("%s/lib/ld-linux-x86-64.so.2");
    ARG("--library-path");
    PATHARG("%s/lib");
    /* The image's ld.so.cache would be read (and recorded) for nothing: every lib is in lib/. */
    ARG("--inhibit-cache");
    PATHARG("%s/strace");
    ARG("-f");
    ARG("-qq");
    if (o->syscall_summary) {
        /* Every system call, counted: what a seccomp profile must allow. */
        ARG("-c");
    } else {
        if (!o->exact_privileges) ARG("--seccomp-bpf");
        ARG("-y");
        ARG("-e");
        ARG("trace=%file,%process,fchdir,getdents,getdents64");
    }
    ARG("-o");
    ARG((char *)o->strace_out);
    for (size_t i = 0; i < nenv; i++) {
        /* LD_PRELOAD, LD_AUDIT, GLIBC_TUNABLES... of the image would be loaded into strace itself. */
        if (strncmp(environ[i], "LD_", 3) == 0 || strncmp(environ[i], "GLIBC_TUNABLES=", 15) == 0) {
            ARG("-E");
            ARG(environ[i]);
        } else {
            env[e++] = environ[i];
        }
    }
    env[e] = NULL;
    ARG("--");
    PATHARG("%s/slim-sensor");
    ARG("--exec-as");
    ARG((char *)spec);
    if (o->drop_caps) {
        char list[64 * 4], *w = list;
        for (int c = 0; c < 64; c++)
            if (o->drop_caps >> c & 1) w += snprintf(w, sizeof list - (size_t)(w - list), "%s%d", w == list ? "" : ",", c);
        ARG("--drop-caps");
        ARG(strdup(list));
    }
    ARG("--notify-fd");
    if (asprintf(&s, "%d", notify_fd) < 0) fail(EXIT_PROBE, "out of memory");
    ARG(s);
    ARG("--");
    for (size_t i = 0; i < ncmd; i++) ARG(o->cmd[i]);
    argv[a] = NULL;
#undef ARG
#undef PATHARG
    *envp = env;
    return argv;
}

int main(int argc, char **argv)
{
    /* First of all: as PID 1 a signal we don't handle yet is dropped, and `docker stop` would
     * then wait its whole timeout. Blocked, it waits for the signalfd. */
    sigset_t handled, saved;
    sigemptyset(&handled);
    for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaddset(&handled, forwarded[i]);
    sigaddset(&handled, SIGCHLD);
    sigprocmask(SIG_BLOCK, &handled, &saved);

    struct opts o;
    parse_args(argc, argv, &o);
    if (o.exec_as) exec_as_main(&o);

    struct identity id;
    if (o.user && parse_identity(o.user, &id)) usage_error("--user needs UID:GID[:G1,G2,...]");

    char probe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", probe, sizeof probe - 1);
    if (n <= 0) fail(EXIT_PROBE, "readlink /proc/self/exe: %s", n < 0 ? strerror(errno) : "empty");
    probe[n] = 0;
    char *slash = strrchr(probe, '/');
    if (!slash) fail(EXIT_PROBE, "cannot locate the probe directory from %s", probe);
    *slash = 0;

    char **st_argv = NULL, **st_env = NULL;
    int notify[2] = {-1, -1};
    if (o.strace_out) {
        char loader[PATH_MAX + 64], strace[PATH_MAX + 64];
        snprintf(loader, sizeof loader, "%s/lib/ld-linux-x86-64.so.2", probe);
        snprintf(strace, sizeof strace, "%s/strace", probe);
        if (access(loader, X_OK) != 0) fail(EXIT_PROBE, "%s: %s (the probe is incomplete)", loader, strerror(errno));
        if (access(strace, R_OK) != 0) fail(EXIT_PROBE, "%s: %s (the probe is incomplete)", strace, strerror(errno));
        /* Without it strace still starts, but loses sight of the app's memory once it drops to
         * another user: paths turn into bare pointers. A clear failure beats a quietly poor trace. */
        if (!has_cap_sys_ptrace()) fail(EXIT_PROBE, "strace: CAP_SYS_PTRACE is missing (the strace probe needs CAP_SYS_PTRACE)");
        if (pipe2(notify, O_CLOEXEC | O_NONBLOCK) != 0) fail(EXIT_PROBE, "pipe: %s", strerror(errno));
        st_argv = strace_argv(probe, &o, o.user ? o.user : current_identity_spec(), notify[1], &st_env);
    }

    /* Before the app exists, so its very first exec is seen. */
    if (o.fanotify_out) fan_start(o.fanotify_out);

    /* Orphans come to us even when we are not PID 1 (a test run on a host). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    int sfd = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) fail(EXIT_PROBE, "signalfd: %s", strerror(errno));

    pid_t child = fork();
    if (child < 0) fail(EXIT_PROBE, "fork: %s", strerror(errno));
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &saved, NULL);
        if (st_argv) {
            /* The write end must survive strace's exec of the exec-as step; it blocks like any pipe there. */
            int fl = fcntl(notify[1], F_GETFL);
            fcntl(notify[1], F_SETFL, fl & ~O_NONBLOCK);
            fcntl(notify[1], F_SETFD, 0);
            execve(st_argv[0], st_argv, st_env);
            fail(EXIT_PROBE, "exec %s: %s", st_argv[0], strerror(errno));
        }
        become_app(o.user ? &id : NULL, o.drop_caps);
        exec_app(o.cmd);
    }
    if (notify[1] >= 0) close(notify[1]);
    if (st_argv) fan.also_ignore = child;

    pid_t app = st_argv ? 0 : child; /* under strace, known once the exec-as step reports it */
    int app_gone = 0, pidfd = -1, exited = 0, status = 0;
    sigset_t pending; /* signals that arrived before strace had started the app */
    sigemptyset(&pending);
    char nbuf[32];
    size_t nlen = 0;

    while (!exited) {
        struct pollfd pf[4];
        int np = 0, i_sig, i_fan = -1, i_note = -1, i_pid = -1;
        pf[i_sig = np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        if (fan.fd >= 0) pf[i_fan = np++] = (struct pollfd){.fd = fan.fd, .events = POLLIN};
        if (notify[0] >= 0) pf[i_note = np++] = (struct pollfd){.fd = notify[0], .events = POLLIN};
        if (pidfd >= 0) pf[i_pid = np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        /* Without a pidfd we look at /proc now and then; once the app is gone we keep killing
         * what it forked late until strace, free of tracees, exits. */
        int timeout = app_gone ? 100 : (st_argv && app > 0 && pidfd < 0) ? 200 : -1;
        int r = poll(pf, (nfds_t)np, timeout);
        if (r < 0 && errno != EINTR) fail(EXIT_PROBE, "poll: %s", strerror(errno));

        if (r > 0 && pf[i_sig].revents) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD) {
                    int st;
                    pid_t p;
                    while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                        if (p == child) exited = 1, status = st;
                    continue;
                }
                /* A terminal signals its whole foreground group, the app included: don't double it. */
                if (si.ssi_code == SI_KERNEL) continue;
                if (app > 0) {
                    if (!app_gone) kill(app, sig);
                } else {
                    /* Not to strace: until it blocks fatal signals (-I never), one kills it and
                     * leaves its half-started child stopped. The app gets it as soon as it reports
                     * in, a few ms later, which is the same as a signal just before its exec. */
                    sigaddset(&pending, sig);
                }
            }
        }
        if (i_fan >= 0 && pf[i_fan].revents) {
            /* Having caught up, let events pile up for a moment rather than wake per event: the
             * app then pays no wake-up per open and the kernel merges its repeated opens. This
             * roughly halves the overhead on open-heavy apps; the queue is unlimited, and a full
             * buffer means we are behind, so then we read on at once. */
            int full = 0;
            fan_read_batch(&full);
            if (!full) nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
        }
        if (i_note >= 0 && pf[i_note].revents) {
            ssize_t k = read(notify[0], nbuf + nlen, sizeof nbuf - 1 - nlen);
            if (k > 0) nlen += (size_t)k;
            char *nl = memchr(nbuf, '\n', nlen);
            if (nl || k == 0 || (k < 0 && errno != EAGAIN) || nlen == sizeof nbuf - 1) {
                close(notify[0]);
                notify[0] = -1;
            }
            if (nl) {
                *nl = 0;
                app = (pid_t)atoi(nbuf);
                if (app > 0) {
                    pidfd = (int)syscall(SYS_pidfd_open, app, 0);
                    if (pidfd < 0 && errno == ESRCH) app_gone = 1;
                    for (size_t s = 0; s < sizeof forwarded / sizeof *forwarded; s++)
                        if (sigismember(&pending, forwarded[s])) kill(app, forwarded[s]);
                }
            }
        }
        if (!app_gone && app > 0 && st_argv) {
            if (pidfd >= 0 ? (i_pid >= 0 && pf[i_pid].revents) : proc_gone(app)) {
                app_gone = 1;
                if (pidfd >= 0) close(pidfd), pidfd = -1;
            }
        }
        if (app_gone && !exited) kill_descendants(child);
    }

    if (st_argv && app <= 0 && notify[0] >= 0) {
        /* strace may have exited right after the app reported in, before we polled the pipe. */
        ssize_t k = read(notify[0], nbuf + nlen, sizeof nbuf - 1 - nlen);
        if (k > 0) nlen += (size_t)k;
        if (memchr(nbuf, '\n', nlen)) app = (pid_t)atoi(nbuf);
    }
    fan_drain();
    if (st_argv && app <= 0) {
        /* The app never started: strace's own complaint is on stderr, this says what it means. */
        fail(EXIT_PROBE, "strace exited with status %d before starting the app", status_code(status));
    }
    return status_code(status);
}
