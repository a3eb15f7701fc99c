/*
 * vpcd.c - vpcd wire protocol: socket, framing, TCP tuning (vpcd.h).
 */
#include "vpcd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"

#define VPCD_MAX_MSG 0xFFFF

st_t vpcd_connect(const char *host, uint16_t port, int *fd) {
    struct sockaddr_in sa;
    int s, one = 1;

    *fd = -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return ST_E_INVAL;
    s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return st_from_errno(errno);
    if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(s);
        return e == EINTR ? ST_E_INTERRUPTED : st_from_errno(e);
    }
    /* The line's vpcd ports lie in the kernel's ephemeral range: connecting while nobody
     * listens can be given that very port as the local one, and TCP simultaneous open then
     * connects the card to itself. pcscd can no longer bind the port and the reader never
     * appears (the fault campaign hit it twice in 215 rounds). Such a connection is refused
     * here like a refused one: the caller retries. */
    {
        struct sockaddr_in me, peer;
        socklen_t lm = sizeof(me), lp = sizeof(peer);
        if (getsockname(s, (struct sockaddr *)&me, &lm) == 0
            && getpeername(s, (struct sockaddr *)&peer, &lp) == 0 && me.sin_port == peer.sin_port
            && me.sin_addr.s_addr == peer.sin_addr.s_addr) {
            /* abortive close: no TIME_WAIT left on the port pcscd is about to bind */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            (void)setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(s);
            return st_from_errno(ECONNREFUSED);
        }
    }
    if (setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
        st_log(ST_LOG_WARN, "vpcd: TCP_NODELAY: %s", strerror(errno));
    *fd = s;
    return ST_OK;
}

/* Reads exactly n bytes; TCP_QUICKACK is re-armed before every recv (the kernel clears it). */
static st_t read_full(int fd, uint8_t *p, size_t n) {
    int one = 1;
    while (n) {
        ssize_t r;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        r = recv(fd, p, n, 0);
        if (r == 0)
            return ST_E_CARD_REMOVED;
        if (r < 0) {
            if (errno == EINTR)
                return ST_E_INTERRUPTED;
            if (errno == ECONNRESET)
                return ST_E_CARD_REMOVED;
            return ST_E_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    return ST_OK;
}

st_t vpcd_recv(int fd, buf_t *msg) {
    uint8_t hdr[2];
    size_t n;
    uint8_t *p;
    st_t st;

    buf_reset(msg);
    if ((st = read_full(fd, hdr, 2)) != ST_OK)
        return st;
    n = (size_t)hdr[0] << 8 | hdr[1];
    if (n == 0)
        return ST_OK;
    if (!(p = buf_extend(msg, n)))
        return ST_E_NOMEM;
    return read_full(fd, p, n);
}

st_t vpcd_send(int fd, const uint8_t *p, size_t n) {
    uint8_t frame[2 + VPCD_MAX_MSG];
    size_t off = 0;

    if (n > VPCD_MAX_MSG)
        return ST_E_TOO_LARGE;
    frame[0] = (uint8_t)(n >> 8);
    frame[1] = (uint8_t)n;
    memcpy(frame + 2, p, n);
    n += 2;
    while (off < n) {
        ssize_t w = send(fd, frame + off, n - off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EPIPE || errno == ECONNRESET ? ST_E_CARD_REMOVED : ST_E_IO;
        }
        off += (size_t)w;
    }
    return ST_OK;
}
