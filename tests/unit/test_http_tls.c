/*
 * The HTTPS transport (http/tls.c through http/server.c) over real sockets:
 * the server runs on its own loop thread, the client is blocking OpenSSL.
 * Covers what the integration tests cannot steer: a reader that stalls while
 * megabytes are queued (every SSL_write retry path: staged copies, direct
 * slices, file slices), refbuf slices ending with close_notify, handshake
 * timeouts and failures counted, and reloads keeping the old certificate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <cmocka.h>

#include "core/refbuf.h"
#include "http/server.h"
#include "http/tls.h"

#define BIG_BODY  (3u << 20)
#define FILE_BODY (1u << 20)
#define SLICE_N   40

static char tmpdir[64], cert_path[96], key_path[96], file_path[96];
static struct refbuf *shared_rb;

struct fixture {
    uv_loop_t loop;
    uv_async_t stop_async;
    pthread_t thread;
    struct http_server *srv;
    struct tls_ctx *tls;
    int port;
};

static void write_key_and_cert(const char *cn)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    assert_non_null(pk);
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pk);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
    FILE *f = fopen(key_path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(pk);
}

struct slicer {
    int left;
    struct http_conn *conn;
};

static int slicer_pull(void *ctx, struct buf *out, size_t budget)
{
    struct slicer *s = ctx;
    (void)out;
    (void)budget;
    if (s->left == 0)
        return 0;
    s->left--;
    return http_conn_queue_ref(s->conn, shared_rb, shared_rb->data, shared_rb->len) ? -EIO : 1;
}

static void slicer_close(void *ctx)
{
    free(ctx);
}

static void handler(struct http_request *req, struct http_response *res, void *ud)
{
    (void)ud;
    if (strcmp(req->path, "/big") == 0) {
        struct buf *b = http_response_buf(res);
        for (size_t i = 0; i < BIG_BODY; i++)
            buf_putc(b, (char)('a' + i % 26));
        int fd = open(file_path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        http_response_file(res, fd, 0, FILE_BODY);
        return;
    }
    if (strcmp(req->path, "/slices") == 0) {
        struct slicer *s = calloc(1, sizeof(*s));
        s->left = SLICE_N;
        s->conn = http_response_conn(res);
        struct http_body_source src = {.pull = slicer_pull, .close = slicer_close, .ctx = s};
        http_response_source(res, &src, -1);
        return;
    }
    http_response_text(res, 200, "text/plain", req->tls ? "tls\n" : "plain\n");
}

static void on_stop_async(uv_async_t *a)
{
    struct fixture *f = a->data;
    uv_close((uv_handle_t *)&f->stop_async, NULL);
    http_server_stop(f->srv, 0, NULL, NULL);
}

static void *loop_thread(void *arg)
{
    struct fixture *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

static struct fixture *start(unsigned header_ms)
{
    struct fixture *f = calloc(1, sizeof(*f));
    uv_loop_init(&f->loop);
    assert_int_equal(tls_ctx_new(cert_path, key_path, &f->tls), 0);
    struct http_server_config cfg = {
        .host = "127.0.0.1",
        .handler = handler,
        .header_timeout_ms = header_ms,
        .tls = f->tls,
        .tls_host = "127.0.0.1",
    };
    assert_int_equal(http_server_start(&f->loop, &cfg, &f->srv), 0);
    f->port = http_server_tls_port(f->srv);
    assert_true(f->port > 0);
    uv_async_init(&f->loop, &f->stop_async, on_stop_async);
    f->stop_async.data = f;
    assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f), 0);
    return f;
}

static void stop(struct fixture *f)
{
    uv_async_send(&f->stop_async);
    pthread_join(f->thread, NULL);
    uv_loop_close(&f->loop);
    tls_ctx_free(f->tls);
    free(f);
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
};

static void client_open(struct client *c, int port)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, cert_path, NULL), 1);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x02h2\x08http/1.1";
    SSL_CTX_set_alpn_protos(c->ctx, alpn, sizeof(alpn) - 1);
    c->fd = tcp_connect(port);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    assert_int_equal(SSL_connect(c->ssl), 1);
    const unsigned char *sel;
    unsigned len;
    SSL_get0_alpn_selected(c->ssl, &sel, &len);
    assert_int_equal(len, 8);
    assert_memory_equal(sel, "http/1.1", 8);
}

static void client_close(struct client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
}

static void client_send(struct client *c, const char *s)
{
    assert_int_equal(SSL_write(c->ssl, s, (int)strlen(s)), (int)strlen(s));
}

/* Reads until total bytes arrived or the session ends; returns the count and
 * whether the server sent close_notify. */
static size_t client_read(struct client *c, char *dst, size_t cap, bool *clean_eof)
{
    size_t got = 0;
    *clean_eof = false;
    while (got < cap) {
        int r = SSL_read(c->ssl, dst + got, (int)(cap - got > 65536 ? 65536 : cap - got));
        if (r <= 0) {
            *clean_eof = SSL_get_error(c->ssl, r) == SSL_ERROR_ZERO_RETURN;
            break;
        }
        got += (size_t)r;
    }
    return got;
}

static size_t head_len(const char *p, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (memcmp(p + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    return 0;
}

static void test_stalled_reader_gets_every_byte(void **state)
{
    (void)state;
    struct fixture *f = start(0);
    struct client c;
    client_open(&c, f->port);
    client_send(&c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    /* Let the server fill the socket and hit SSL_write's retry path. */
    usleep(300 * 1000);
    size_t cap = BIG_BODY + FILE_BODY + 4096;
    char *buf = malloc(cap);
    bool eof;
    /* Head first, then exactly the body. */
    size_t got = 0, hl = 0;
    while (!(hl = head_len(buf, got))) {
        int r = SSL_read(c.ssl, buf + got, 4096);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_non_null(strstr(buf, "Content-Length: 4194304\r\n"));
    size_t body_total = BIG_BODY + FILE_BODY;
    got += client_read(&c, buf + got, hl + body_total - got, &eof);
    assert_int_equal(got, hl + body_total);
    const char *b = buf + hl;
    for (size_t i = 0; i < BIG_BODY; i += 4099)
        assert_int_equal(b[i], (char)('a' + i % 26));
    FILE *fp = fopen(file_path, "r");
    char *want = malloc(FILE_BODY);
    assert_int_equal(fread(want, 1, FILE_BODY, fp), FILE_BODY);
    fclose(fp);
    assert_memory_equal(b + BIG_BODY, want, FILE_BODY);
    free(want);
    /* The connection is kept alive and serves the next request. */
    client_send(&c, "GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    got = client_read(&c, buf, cap, &eof);
    buf[got] = '\0';
    assert_non_null(strstr(buf, "\r\n\r\ntls\n"));
    assert_true(eof); /* close_notify before the close */
    free(buf);
    client_close(&c);
    assert_true(tls_ctx_stats(f->tls).file_bytes_userspace >= FILE_BODY);
    stop(f);
}

static void test_ref_slices_end_with_close_notify(void **state)
{
    (void)state;
    struct fixture *f = start(0);
    struct client c;
    client_open(&c, f->port);
    client_send(&c, "GET /slices HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t cap = SLICE_N * shared_rb->len + 4096;
    char *buf = malloc(cap);
    bool eof;
    size_t got = client_read(&c, buf, cap, &eof);
    size_t hl = head_len(buf, got);
    assert_true(hl > 0);
    assert_int_equal(got - hl, SLICE_N * shared_rb->len);
    for (size_t k = 0; k < SLICE_N; k++)
        assert_memory_equal(buf + hl + k * shared_rb->len, shared_rb->data, shared_rb->len);
    assert_true(eof); /* a close-delimited body ends with close_notify, not a bare FIN */
    free(buf);
    client_close(&c);
    stop(f);
}

static bool wait_closed(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char junk[512];
    for (int waited = 0; waited < ms; waited += 20) {
        if (poll(&p, 1, 20) == 1) {
            ssize_t n = recv(fd, junk, sizeof(junk), 0);
            if (n <= 0)
                return true;
        }
    }
    return false;
}

static void test_handshake_timeout_and_failure_counted(void **state)
{
    (void)state;
    struct fixture *f = start(300);
    int idle = tcp_connect(f->port);
    assert_true(wait_closed(idle, 10000));
    close(idle);
    int junk = tcp_connect(f->port);
    assert_int_equal(send(junk, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL), 18);
    assert_true(wait_closed(junk, 10000));
    close(junk);
    /* Read from this thread while the server's loop runs on another (TSan: atomic counters). */
    struct tls_stats st = tls_ctx_stats(f->tls);
    for (int i = 0; i < 200 && !(st.handshake_timeouts && st.handshake_failures); i++) {
        usleep(10 * 1000);
        st = tls_ctx_stats(f->tls);
    }
    assert_int_equal(st.handshake_timeouts, 1);
    assert_int_equal(st.handshake_failures, 1);
    stop(f);
}

static void test_reload_keeps_old_on_failure(void **state)
{
    (void)state;
    struct tls_ctx *t;
    assert_int_equal(tls_ctx_new(cert_path, key_path, &t), 0);
    /* A key that does not match the certificate. */
    FILE *f = fopen(cert_path, "r");
    char *old_cert = calloc(1, 8192);
    assert_true(fread(old_cert, 1, 8191, f) > 0);
    fclose(f);
    write_key_and_cert("second"); /* new cert + key on disk */
    f = fopen(cert_path, "w");
    fputs(old_cert, f); /* old cert, new key: mismatch */
    fclose(f);
    assert_int_equal(tls_ctx_reload(t), -EINVAL);
    assert_int_equal(tls_ctx_stats(t).reload_failures, 1);
    write_key_and_cert("third");
    assert_int_equal(tls_ctx_reload(t), 0);
    assert_int_equal(tls_ctx_stats(t).reloads, 1);
    unlink(cert_path);
    assert_int_equal(tls_ctx_reload(t), -ENOENT);
    assert_int_equal(tls_ctx_stats(t).reload_failures, 2);
    write_key_and_cert("first");
    free(old_cert);
    tls_ctx_free(t);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/xtreamd-tls-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    snprintf(cert_path, sizeof(cert_path), "%s/c.pem", tmpdir);
    snprintf(key_path, sizeof(key_path), "%s/k.pem", tmpdir);
    snprintf(file_path, sizeof(file_path), "%s/file.bin", tmpdir);
    write_key_and_cert("first");
    FILE *fp = fopen(file_path, "w");
    for (unsigned i = 0; i < FILE_BODY; i++)
        fputc((int)((i * 2654435761u) >> 24), fp);
    fclose(fp);
    static char pattern[100000];
    for (size_t i = 0; i < sizeof(pattern); i++)
        pattern[i] = (char)(i * 7);
    shared_rb = refbuf_new(pattern, sizeof(pattern));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stalled_reader_gets_every_byte),
        cmocka_unit_test(test_ref_slices_end_with_close_notify),
        cmocka_unit_test(test_handshake_timeout_and_failure_counted),
        cmocka_unit_test(test_reload_keeps_old_on_failure),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    refbuf_unref(shared_rb);
    unlink(cert_path);
    unlink(key_path);
    unlink(file_path);
    rmdir(tmpdir);
    return rc;
}
