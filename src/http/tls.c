/*
 * tls: OpenSSL 3 transport for the HTTP server (implements tls.h).
 *
 * Ownership: struct tls_ctx owns the current SSL_CTX (each SSL holds its own
 * reference, so a reload never pulls a certificate from under a live
 * connection) and copies of the file paths. struct tls_conn owns its SSL and
 * a TLS_SLICE staging buffer, allocated on the first write and released when
 * the connection goes idle.
 *
 * Invariant (the retry rule of SSL_write): while a write is pending
 * (stage_len or direct_len non-zero) the next write call re-sends exactly the
 * pending bytes and reports them consumed only once OpenSSL has taken them.
 * Threading: loop thread only.
 */
#include "http/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/promtext.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

struct tls_ctx {
    SSL_CTX *ctx;
    char *cert_file;
    char *key_file;
    bool ktls; /* kernel ULP present and OpenSSL built with KTLS */
    struct tls_stats st;
};

struct tls_conn {
    struct tls_ctx *t;
    SSL *ssl;
    unsigned char *stage; /* TLS_SLICE bytes, or NULL */
    size_t stage_len;     /* pending staged bytes (0: none) */
    size_t direct_len;    /* pending bytes written straight from the caller's iov */
    int want;
    bool read_wants_write; /* the last SSL_read stopped on WANT_WRITE */
    bool ready, ktls_send, shut;
};

/* The first error on OpenSSL's queue as text, for logs; the queue is cleared.
 * OpenSSL's messages name files and reasons, never key bytes. */
static const char *ssl_err_text(char *dst, size_t n)
{
    unsigned long e = ERR_get_error();
    if (!e) {
        snprintf(dst, n, "%s", errno ? strerror(errno) : "unknown error");
    } else {
        ERR_error_string_n(e, dst, n);
    }
    ERR_clear_error();
    return dst;
}

static int alpn_select(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    (void)s;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* carry on without ALPN, as nginx does */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* Does the kernel accept the "tls" ULP on an established TCP socket? The only
 * reliable answer is to try (the module may be built in, loadable or absent). */
static bool probe_ktls_ulp(void)
{
    bool ok = false;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), c = -1, a = -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&sa, &sl) != 0)
        goto out;
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (a < 0)
        goto out;
    ok = setsockopt(a, SOL_TCP, TCP_ULP, "tls", 3) == 0;
out:
    if (a >= 0)
        close(a);
    if (c >= 0)
        close(c);
    if (l >= 0)
        close(l);
    return ok;
}

static void log_cert(SSL_CTX *ctx, const char *what)
{
    X509 *x = SSL_CTX_get0_certificate(ctx);
    if (!x)
        return;
    char subj[256] = "?", until[64] = "?";
    X509_NAME_oneline(X509_get_subject_name(x), subj, sizeof(subj));
    BIO *b = BIO_new(BIO_s_mem());
    if (b) {
        if (ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1) {
            int n = BIO_read(b, until, (int)sizeof(until) - 1);
            until[n > 0 ? n : 0] = '\0';
        }
        BIO_free(b);
    }
    char f1[300];
    log_info("tls", "%s certificate %s (valid until %s)", what, log_field(f1, sizeof(f1), subj),
             until);
}

/* A complete server SSL_CTX from the files, or an error (logged by the
 * caller with *why). */
static int build_ctx(const struct tls_ctx *t, SSL_CTX **out, char *why, size_t whylen)
{
    *out = NULL;
    ERR_clear_error();
    errno = 0;
    if (access(t->cert_file, R_OK) != 0 || access(t->key_file, R_OK) != 0) {
        int e = errno;
        snprintf(why, whylen, "%s: %s", access(t->cert_file, R_OK) ? "certificate" : "key",
                 strerror(e));
        return -e;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err_text(why, whylen);
        return -ENOMEM;
    }
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION;
    if (t->ktls)
        opts |= SSL_OP_ENABLE_KTLS;
    SSL_CTX_set_options(ctx, opts);
    /* Partial writes stay off: SSL_write takes a whole slice or nothing, so
     * the staging invariant is simple. The caller's buffer may move between
     * retries (the server's stream buffer can be reallocated). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    static const unsigned char sid[] = "xtreamd";
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1 ||
        SSL_CTX_set_ciphersuites(ctx, TLS_CIPHERSUITES_13) != 1 ||
        SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1) {
        ssl_err_text(why, whylen);
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    /* Resumption by stateless tickets only (as nginx by default): a server-side
     * session cache would keep every session for its lifetime, bounded only
     * by OpenSSL's 20 480 entries. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    char e[200];
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        snprintf(why, whylen, "certificate %s: %s", t->cert_file, ssl_err_text(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(why, whylen, "key %s: %s", t->key_file, ssl_err_text(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(why, whylen, "the key %s does not match the certificate %s", t->key_file,
                 t->cert_file);
        ERR_clear_error();
        SSL_CTX_free(ctx);
        return -EINVAL;
    }
    *out = ctx;
    return 0;
}

/* The counters are shared by every connection of the context, which several I/O loops (and
 * a test's or the metrics' thread) touch at once: relaxed atomics, since each counter only has
 * to be exact on its own, with no order against anything else. */
static void stat_add(uint64_t *c, uint64_t n)
{
    __atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t stat_get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

int tls_ctx_new(const char *cert_file, const char *key_file, struct tls_ctx **out)
{
    *out = NULL;
    if (!cert_file || !key_file || !cert_file[0] || !key_file[0]) {
        log_error("tls", "a TLS listener needs both a certificate (tls-cert) and a key (tls-key)");
        return -EINVAL;
    }
    struct tls_ctx *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->cert_file = strdup(cert_file);
    t->key_file = strdup(key_file);
    if (!t->cert_file || !t->key_file) {
        tls_ctx_free(t);
        return -ENOMEM;
    }
#ifdef OPENSSL_NO_KTLS
    t->st.ktls_openssl = false;
#else
    t->st.ktls_openssl = true;
#endif
    t->st.ktls_kernel = probe_ktls_ulp();
    t->ktls = t->st.ktls_kernel && t->st.ktls_openssl;
    char why[512];
    int rc = build_ctx(t, &t->ctx, why, sizeof(why));
    if (rc) {
        log_error("tls", "cannot load the TLS certificate: %s", why);
        tls_ctx_free(t);
        return rc;
    }
    log_cert(t->ctx, "serving");
    log_info("tls", "%s (kernel tls ULP %s, OpenSSL %s, %s)",
             t->ktls ? "kernel TLS for file sends where the kernel takes the session"
                     : "user-space TLS (files read and encrypted in 16 KiB slices)",
             t->st.ktls_kernel ? "present" : "absent", OpenSSL_version(OPENSSL_VERSION_STRING),
             t->st.ktls_openssl ? "built with KTLS" : "built without KTLS");
    *out = t;
    return 0;
}

void tls_ctx_free(struct tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->cert_file);
    free(t->key_file);
    free(t);
}

int tls_ctx_reload(struct tls_ctx *t)
{
    if (!t)
        return 0;
    SSL_CTX *n;
    char why[512];
    int rc = build_ctx(t, &n, why, sizeof(why));
    if (rc) {
        stat_add(&t->st.reload_failures, 1);
        log_error("tls", "certificate reload failed, keeping the current certificate: %s", why);
        return rc;
    }
    SSL_CTX_free(t->ctx); /* connections made with it hold their own reference */
    t->ctx = n;
    stat_add(&t->st.reloads, 1);
    log_cert(t->ctx, "reloaded: now serving");
    return 0;
}

struct tls_stats tls_ctx_stats(const struct tls_ctx *t)
{
    const struct tls_stats *s = &t->st;
    return (struct tls_stats){
        .handshakes = stat_get(&s->handshakes),
        .handshake_failures = stat_get(&s->handshake_failures),
        .handshake_timeouts = stat_get(&s->handshake_timeouts),
        .reloads = stat_get(&s->reloads),
        .reload_failures = stat_get(&s->reload_failures),
        .conns_ktls = stat_get(&s->conns_ktls),
        .conns_userspace = stat_get(&s->conns_userspace),
        .file_bytes_ktls = stat_get(&s->file_bytes_ktls),
        .file_bytes_userspace = stat_get(&s->file_bytes_userspace),
        .io_errors = stat_get(&s->io_errors),
        .ktls_kernel = s->ktls_kernel,   /* set once in tls_ctx_new */
        .ktls_openssl = s->ktls_openssl, /* likewise */
    };
}

void tls_ctx_count_timeout(struct tls_ctx *t)
{
    stat_add(&t->st.handshake_timeouts, 1);
}

void tls_metrics(const struct tls_ctx *t, struct buf *o)
{
    const struct tls_stats snap = tls_ctx_stats(t), *s = &snap;
    promtext_family(o, "xtreamd_tls_ktls_available", "gauge",
                    "1 when the kernel has the tls ULP and OpenSSL was built with KTLS");
    buf_printf(o, "xtreamd_tls_ktls_available %d\n", t->ktls ? 1 : 0);
    promtext_family(o, "xtreamd_tls_handshakes_total", "counter", "TLS handshakes completed");
    buf_printf(o, "xtreamd_tls_handshakes_total %" PRIu64 "\n", s->handshakes);
    promtext_family(o, "xtreamd_tls_handshake_failures_total", "counter",
                    "TLS handshakes that failed (protocol version, cipher, garbage, reset)");
    buf_printf(o, "xtreamd_tls_handshake_failures_total %" PRIu64 "\n", s->handshake_failures);
    promtext_family(o, "xtreamd_tls_handshake_timeouts_total", "counter",
                    "TLS connections closed before completing a handshake in the header timeout");
    buf_printf(o, "xtreamd_tls_handshake_timeouts_total %" PRIu64 "\n", s->handshake_timeouts);
    promtext_family(o, "xtreamd_tls_reloads_total", "counter", "Certificate reloads by result");
    buf_printf(o, "xtreamd_tls_reloads_total{result=\"ok\"} %" PRIu64 "\n", s->reloads);
    buf_printf(o, "xtreamd_tls_reloads_total{result=\"failed\"} %" PRIu64 "\n", s->reload_failures);
    promtext_family(o, "xtreamd_tls_connections_total", "counter",
                    "TLS connections by send path (ktls: the kernel encrypts)");
    buf_printf(o, "xtreamd_tls_connections_total{path=\"ktls\"} %" PRIu64 "\n", s->conns_ktls);
    buf_printf(o, "xtreamd_tls_connections_total{path=\"userspace\"} %" PRIu64 "\n",
               s->conns_userspace);
    promtext_family(o, "xtreamd_tls_file_bytes_total", "counter",
                    "File (VOD) bytes sent over TLS by path");
    buf_printf(o, "xtreamd_tls_file_bytes_total{path=\"ktls\"} %" PRIu64 "\n", s->file_bytes_ktls);
    buf_printf(o, "xtreamd_tls_file_bytes_total{path=\"userspace\"} %" PRIu64 "\n",
               s->file_bytes_userspace);
    promtext_family(o, "xtreamd_tls_io_errors_total", "counter",
                    "TLS connections closed on a protocol error after the handshake");
    buf_printf(o, "xtreamd_tls_io_errors_total %" PRIu64 "\n", s->io_errors);
}

int tls_conn_new(struct tls_ctx *t, int fd, struct tls_conn **out)
{
    *out = NULL;
    struct tls_conn *tc = calloc(1, sizeof(*tc));
    if (!tc)
        return -ENOMEM;
    tc->t = t;
    tc->ssl = SSL_new(t->ctx);
    if (!tc->ssl || SSL_set_fd(tc->ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(tc->ssl);
        free(tc);
        return -ENOMEM;
    }
    SSL_set_accept_state(tc->ssl);
    *out = tc;
    return 0;
}

void tls_conn_free(struct tls_conn *tc)
{
    if (!tc)
        return;
    SSL_free(tc->ssl);
    free(tc->stage);
    free(tc);
}

bool tls_conn_ready(const struct tls_conn *tc)
{
    return tc->ready;
}

int tls_conn_wants(const struct tls_conn *tc)
{
    return tc->want;
}

bool tls_conn_pending(const struct tls_conn *tc)
{
    return tc->ready && SSL_pending(tc->ssl) > 0;
}

bool tls_conn_read_wants_write(const struct tls_conn *tc)
{
    return tc->read_wants_write;
}

const char *tls_conn_version(const struct tls_conn *tc)
{
    return SSL_get_version(tc->ssl);
}

/* Maps an SSL_get_error() result to -EAGAIN (with the wanted direction) or a
 * fatal errno. */
static int ssl_fail(struct tls_conn *tc, int r)
{
    int e = SSL_get_error(tc->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        tc->want = TLS_WANT_READ;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        tc->want = TLS_WANT_WRITE;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return errno == EPIPE ? -EPIPE : -ECONNRESET;
    default:
        ERR_clear_error();
        return -EPROTO;
    }
}

int tls_conn_handshake(struct tls_conn *tc)
{
    if (tc->ready)
        return 0;
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(tc->ssl);
    if (r == 1) {
        tc->ready = true;
        tc->want = 0;
        stat_add(&tc->t->st.handshakes, 1);
#ifndef OPENSSL_NO_KTLS
        tc->ktls_send = tc->t->ktls && BIO_get_ktls_send(SSL_get_wbio(tc->ssl));
#endif
        if (tc->ktls_send)
            stat_add(&tc->t->st.conns_ktls, 1);
        else
            stat_add(&tc->t->st.conns_userspace, 1);
        return 0;
    }
    int e = SSL_get_error(tc->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return ssl_fail(tc, r);
    char why[200];
    if (e == SSL_ERROR_SSL)
        ssl_err_text(why, sizeof(why));
    else
        snprintf(why, sizeof(why), "%s", errno ? strerror(errno) : "connection closed");
    ERR_clear_error();
    stat_add(&tc->t->st.handshake_failures, 1);
    log_debug("tls", "handshake failed: %s", why);
    return -EPROTO;
}

ssize_t tls_conn_read(struct tls_conn *tc, void *buf, size_t len)
{
    if (len > INT_MAX)
        len = INT_MAX;
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(tc->ssl, buf, (int)len);
    tc->read_wants_write = false;
    if (r > 0) {
        tc->want = 0;
        return r;
    }
    int rc = ssl_fail(tc, r);
    tc->read_wants_write = rc == -EAGAIN && tc->want == TLS_WANT_WRITE;
    if (rc == -EPROTO)
        stat_add(&tc->t->st.io_errors, 1);
    return rc;
}

/* Hands OpenSSL the pending bytes (staged or direct) again, or new ones. */
static ssize_t write_pending(struct tls_conn *tc, const void *p, size_t len)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_write(tc->ssl, p, (int)len);
    if (r > 0) {
        tc->want = 0;
        tc->stage_len = tc->direct_len = 0;
        return (ssize_t)len;
    }
    int rc = ssl_fail(tc, r);
    if (rc == -EPROTO)
        stat_add(&tc->t->st.io_errors, 1);
    return rc == 0 ? -EPIPE : rc;
}

ssize_t tls_conn_writev(struct tls_conn *tc, const struct iovec *iov, int n)
{
    if (tc->stage_len)
        return write_pending(tc, tc->stage, tc->stage_len);
    if (n <= 0)
        return 0;
    if (tc->direct_len || iov[0].iov_len >= TLS_SLICE) {
        /* A whole slice in one piece: encrypt straight from it, no copy. */
        if (!tc->direct_len)
            tc->direct_len = TLS_SLICE;
        return write_pending(tc, iov[0].iov_base, tc->direct_len);
    }
    if (!tc->stage && !(tc->stage = malloc(TLS_SLICE)))
        return -ENOMEM;
    size_t len = 0;
    for (int i = 0; i < n && len < TLS_SLICE; i++) {
        size_t k = iov[i].iov_len < TLS_SLICE - len ? iov[i].iov_len : TLS_SLICE - len;
        memcpy(tc->stage + len, iov[i].iov_base, k);
        len += k;
    }
    if (!len)
        return 0;
    tc->stage_len = len;
    return write_pending(tc, tc->stage, len);
}

ssize_t tls_conn_sendfile(struct tls_conn *tc, int fd, off_t *off, size_t want)
{
#ifndef OPENSSL_NO_KTLS
    if (tc->ktls_send && !tc->stage_len) {
        ERR_clear_error();
        errno = 0;
        ossl_ssize_t r = SSL_sendfile(tc->ssl, fd, *off, want, 0);
        if (r > 0) {
            *off += r;
            stat_add(&tc->t->st.file_bytes_ktls, (uint64_t)r);
            return r;
        }
        if (r == 0)
            return 0;
        int rc = ssl_fail(tc, (int)r);
        return rc == 0 ? -EPIPE : rc;
    }
#endif
    if (!tc->stage_len) {
        if (!tc->stage && !(tc->stage = malloc(TLS_SLICE)))
            return -ENOMEM;
        size_t k = want < TLS_SLICE ? want : TLS_SLICE;
        ssize_t r = pread(fd, tc->stage, k, *off);
        if (r < 0)
            return errno == EINTR ? -EAGAIN : -errno;
        if (r == 0)
            return 0; /* the file ended early */
        tc->stage_len = (size_t)r;
    }
    size_t k = tc->stage_len;
    ssize_t w = write_pending(tc, tc->stage, k);
    if (w > 0) {
        *off += (off_t)w;
        stat_add(&tc->t->st.file_bytes_userspace, (uint64_t)w);
    }
    return w;
}

void tls_conn_shutdown(struct tls_conn *tc)
{
    if (!tc->ready || tc->shut)
        return;
    tc->shut = true;
    ERR_clear_error();
    (void)SSL_shutdown(tc->ssl); /* one try: the socket may be full, nothing waits for it */
    ERR_clear_error();
}

void tls_conn_idle(struct tls_conn *tc)
{
    if (!tc->stage_len && !tc->direct_len) {
        free(tc->stage);
        tc->stage = NULL;
    }
}
