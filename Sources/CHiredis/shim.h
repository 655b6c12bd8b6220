#ifndef LIMITLAB_CHIREDIS_SHIM_H
#define LIMITLAB_CHIREDIS_SHIM_H

/* The C edge of LimitlabRedis. Only the blocking hiredis API that 0.14 (Debian 12) and 1.x
   share is used: connect with a timeout, a socket timeout, redisCommandArgv (not the variadic
   redisCommand, which Swift cannot call), and flat accessors for the reply union/struct. */

#include <hiredis/hiredis.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

static inline struct timeval limitlab_redis_tv(long micros) {
    struct timeval tv;
    tv.tv_sec = micros / 1000000;
    tv.tv_usec = micros % 1000000;
    return tv;
}

/* Never NULL except when out of memory; check limitlab_redis_err. */
static inline redisContext *limitlab_redis_connect_tcp(const char *host, int port, long timeout_us) {
    return redisConnectWithTimeout(host, port, limitlab_redis_tv(timeout_us));
}

static inline redisContext *limitlab_redis_connect_unix(const char *path, long timeout_us) {
    return redisConnectUnixWithTimeout(path, limitlab_redis_tv(timeout_us));
}

/* Send and receive timeout of the socket (SO_SNDTIMEO / SO_RCVTIMEO). 0 on success. */
static inline int limitlab_redis_set_timeout(redisContext *c, long timeout_us) {
    return redisSetTimeout(c, limitlab_redis_tv(timeout_us)) == REDIS_OK ? 0 : -1;
}

static inline int limitlab_redis_err(const redisContext *c) { return c == NULL ? REDIS_ERR_OOM : c->err; }
static inline const char *limitlab_redis_errstr(const redisContext *c) {
    return c == NULL ? "out of memory" : c->errstr;
}

/* redisCommandArgv with SIGPIPE blocked on this thread: hiredis writes with write(2), and a
   write to a connection Redis has closed would otherwise kill the process. A SIGPIPE raised by
   this call is consumed; one that was already pending stays pending. */
static inline redisReply *limitlab_redis_command(redisContext *c, int argc, const char **argv,
                                                 const size_t *argvlen) {
    sigset_t pipe_set, old_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    redisReply *reply = (redisReply *)redisCommandArgv(c, argc, argv, argvlen);
    if (!was_pending) {
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec zero = {0, 0};
            int saved = errno;
            while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR) {}
            errno = saved;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    return reply;
}

/* Reply accessors (the reply layout differs between hiredis versions). */
static inline int limitlab_reply_type(const redisReply *r) { return r->type; }
static inline long long limitlab_reply_integer(const redisReply *r) { return r->integer; }
static inline const char *limitlab_reply_str(const redisReply *r) { return r->str; }
static inline size_t limitlab_reply_len(const redisReply *r) { return r->len; }
static inline size_t limitlab_reply_elements(const redisReply *r) { return r->elements; }
static inline const redisReply *limitlab_reply_element(const redisReply *r, size_t i) { return r->element[i]; }

#endif
