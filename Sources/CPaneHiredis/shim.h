#ifndef CPANE_HIREDIS_SHIM_H
#define CPANE_HIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <sys/time.h>

/// Swift cannot call hiredis's variadic `redisCommand`: single commands go through
/// `redisCommandArgv`, pipelines through `redisAppendFormattedCommand` (RESP encoded in Swift)
/// and `redisGetReply`. These wrappers give them Swift-friendly signatures.
static inline redisReply *cpane_command_argv(redisContext *c, int argc, const char **argv, const size_t *argvlen) {
    return (redisReply *)redisCommandArgv(c, argc, argv, argvlen);
}

static inline int cpane_get_reply(redisContext *c, redisReply **reply) {
    return redisGetReply(c, (void **)reply);
}

static inline int cpane_set_timeout_ms(redisContext *c, long ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return redisSetTimeout(c, tv);
}

static inline redisContext *cpane_connect_ms(const char *host, int port, long ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return redisConnectWithTimeout(host, port, tv);
}

#endif
