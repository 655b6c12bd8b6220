#ifndef LIMITLAB_CCURL_SHIM_H
#define LIMITLAB_CCURL_SHIM_H

#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* A live-runner worker process dies with the `limitlab run --workers` that started it: `sig`
   is sent to it when its parent exits, even by SIGKILL (Linux prctl(PR_SET_PDEATHSIG), man 2
   PR_SET_PDEATHSIG; prctl is variadic, which Swift cannot call). Returns 0 when armed and the
   parent is still `expected_parent`; 1 when the parent already exited (getppid() changed before
   the call armed the signal, so none will come); -1 when the platform has no such signal. */
static inline int limitlab_die_with_parent(int sig, pid_t expected_parent) {
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, (unsigned long)sig, 0UL, 0UL, 0UL) != 0) return -1;
    return getppid() == expected_parent ? 0 : 1;
#else
    (void)sig;
    return getppid() == expected_parent ? -1 : 1;
#endif
}

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadics, which Swift
   cannot call. One typed wrapper per argument kind keeps the Swift side type-checked. */

/* libcurl re-sends a request whose reused connection died before any response byte ("Connection
   died, retrying a fresh connect", lib/transfer.c Curl_retry_request, up to 5 times) without
   telling the caller: the server then saw two attempts where the client counted one. libcurl
   8.16.0 added CURLOPT_FORBID_RETRY_ON_REUSE, which returns the reset as CURLE_RECV_ERROR
   instead (https://curl.se/libcurl/c/CURLOPT_FORBID_RETRY_ON_REUSE.html). Returns 1 when set,
   0 when the libcurl built against is older and has no such option. */
static inline int limitlab_curl_forbid_retry_on_reuse(CURL *h) {
#if LIBCURL_VERSION_NUM >= 0x081000
    return curl_easy_setopt(h, CURLOPT_FORBID_RETRY_ON_REUSE, 1L) == CURLE_OK;
#else
    (void)h;
    return 0;
#endif
}

typedef size_t (*limitlab_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);

static inline CURLcode limitlab_curl_easy_setopt_long(CURL *h, CURLoption o, long v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_string(CURL *h, CURLoption o, const char *v) {
    return curl_easy_setopt(h, o, v); /* libcurl copies strings (since 7.17) */
}
static inline CURLcode limitlab_curl_easy_setopt_pointer(CURL *h, CURLoption o, void *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) {
    return curl_easy_setopt(h, o, v);
}
static inline CURLcode limitlab_curl_easy_setopt_data_callback(CURL *h, CURLoption o, limitlab_curl_data_cb cb) {
    return curl_easy_setopt(h, o, cb);
}
static inline CURLcode limitlab_curl_easy_getinfo_long(CURL *h, CURLINFO i, long *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_double(CURL *h, CURLINFO i, double *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLcode limitlab_curl_easy_getinfo_string(CURL *h, CURLINFO i, const char **out) {
    return curl_easy_getinfo(h, i, out);
}
static inline CURLMcode limitlab_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) {
    return curl_multi_setopt(m, o, v);
}
static inline CURLMcode limitlab_curl_multi_setopt_pointer(CURLM *m, CURLMoption o, void *v) {
    return curl_multi_setopt(m, o, v);
}

/* CURLMsg holds a union; Swift reads it more safely through this flattener.
   Returns 1 when msg reports a finished transfer. */
static inline int limitlab_curl_msg_done(const CURLMsg *msg, CURL **easy, CURLcode *result) {
    if (msg == NULL || msg->msg != CURLMSG_DONE) return 0;
    *easy = msg->easy_handle;
    *result = msg->data.result;
    return 1;
}

/* ---- Event loop for curl_multi_socket_action: epoll, an eventfd to wake it, precise timeouts.
   The socket callback lives here so Swift never handles a C function pointer; Swift owns the
   state struct and reads timer changes from it after each libcurl call. Linux only. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

typedef struct {
    CURLM *multi;
    int epfd;
    /* Set by the timer callback: the latest timeout libcurl asked for (-1: none). */
    long timeout_ms;
    int timer_changed;
    /* epoll_ctl failures (a socket libcurl wants watched but epoll refused). */
    int failures;
} limitlab_loop;

static inline int limitlab_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)easy;
    limitlab_loop *loop = (limitlab_loop *)userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, s, NULL); /* ENOENT/EBADF when already closed: fine */
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = s;
    /* socketp (curl_multi_assign) marks sockets already in the epoll set. */
    if (socketp != NULL) {
        if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) == 0) return 0;
        if (errno != ENOENT) { loop->failures++; return 0; }
    }
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, s, &ev) != 0 &&
        (errno != EEXIST || epoll_ctl(loop->epfd, EPOLL_CTL_MOD, s, &ev) != 0)) {
        loop->failures++;
        return 0;
    }
    curl_multi_assign(loop->multi, s, loop);
    return 0;
}

static inline int limitlab_timer_cb(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    limitlab_loop *loop = (limitlab_loop *)userp;
    loop->timeout_ms = timeout_ms;
    loop->timer_changed = 1;
    return 0;
}

/* Creates the epoll set and registers the callbacks; 0 on success. */
static inline int limitlab_loop_init(limitlab_loop *loop, CURLM *multi) {
    memset(loop, 0, sizeof *loop);
    loop->multi = multi;
    loop->timeout_ms = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) return -1;
    if (curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, limitlab_socket_cb) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, limitlab_timer_cb) != CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop) != CURLM_OK) {
        close(loop->epfd);
        loop->epfd = -1;
        return -1;
    }
    return 0;
}

/* Adds a non-blocking eventfd to the epoll set (data.fd = the fd); returns it, or -1. */
static inline int limitlab_loop_add_wakeup(limitlab_loop *loop) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) { close(fd); return -1; }
    return fd;
}

/* Any thread: makes the loop's wait return. */
static inline void limitlab_wakeup_signal(int fd) {
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r;
}

static inline void limitlab_wakeup_drain(int fd) {
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

/* Waits for up to `max` socket events (fds[i], and masks[i] as CURL_CSELECT_* bits) for at most
   timeout_ns nanoseconds (< 0: without limit). *precise = 1: use epoll_pwait2 (nanosecond
   timeout, Linux 5.11+); it is cleared when the kernel lacks it, and epoll_wait then waits
   whole milliseconds, rounded down, so the caller sleeps the rest. Returns the count, 0 on
   timeout or EINTR, -1 on another error. */
static inline int limitlab_loop_wait(limitlab_loop *loop, int *fds, int *masks, int max,
                                     long long timeout_ns, int *precise) {
    struct epoll_event evs[512];
    if (max > 512) max = 512;
    int n = -1;
#ifdef SYS_epoll_pwait2
    if (*precise && timeout_ns >= 0) {
        struct timespec ts;
        ts.tv_sec = (time_t)(timeout_ns / 1000000000LL);
        ts.tv_nsec = (long)(timeout_ns % 1000000000LL);
        n = (int)syscall(SYS_epoll_pwait2, loop->epfd, evs, max, &ts, NULL, 0);
        if (n < 0 && errno == ENOSYS) *precise = 0;
    }
#else
    *precise = 0;
#endif
    if (n < 0 && !(*precise && timeout_ns >= 0)) {
        int ms = timeout_ns < 0 ? -1 : (int)(timeout_ns / 1000000LL);
        n = epoll_wait(loop->epfd, evs, max, ms);
    }
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < n; i++) {
        uint32_t e = evs[i].events;
        fds[i] = evs[i].data.fd;
        masks[i] = ((e & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) ? CURL_CSELECT_IN : 0)
                 | ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                 | ((e & EPOLLERR) ? CURL_CSELECT_ERR : 0);
    }
    return n;
}

/* Socket events and libcurl's timer (socket CURL_SOCKET_TIMEOUT, mask 0). */
static inline CURLMcode limitlab_socket_action(CURLM *multi, int fd, int mask, int *running) {
    return curl_multi_socket_action(multi, (curl_socket_t)fd, mask, running);
}
static inline CURLMcode limitlab_socket_timeout(CURLM *multi, int *running) {
    return curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, running);
}

/* Timer slack of the calling thread in nanoseconds: the kernel may delay a timed wakeup by up
   to this (default 50 µs), which would show as schedule lag. */
static inline int limitlab_set_timer_slack(unsigned long ns) {
    return prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

static inline void limitlab_loop_close(limitlab_loop *loop) {
    if (loop->epfd >= 0) close(loop->epfd);
    loop->epfd = -1;
}

/* A header list node the caller owns (not from curl_slist_append): Transfer keeps one per
   handle for its per-request header and links it in front of a shared constant list. */
static inline void limitlab_slist_link(struct curl_slist *node, char *data, struct curl_slist *next) {
    node->data = data;
    node->next = next;
}

#endif
