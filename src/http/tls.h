/*
 * tls: the HTTPS transport of the HTTP server (OpenSSL 3).
 *
 * Owns one server-wide context (struct tls_ctx: the current SSL_CTX built from
 * a certificate and key file, its counters, the kernel-TLS decision) and one
 * struct tls_conn per TLS connection (its SSL object and a bounded staging
 * buffer for user-space encryption). server.c reads, writes and sends files
 * through these calls instead of recv/sendmsg/sendfile when a connection came
 * in on the TLS listener; nothing else in the server knows about TLS.
 *
 * Policy: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers (TLS_CIPHERS_12 and
 * TLS_CIPHERSUITES_13 below, also used by bench/tls for nginx), ALPN
 * "http/1.1" (a client offering only other protocols gets no ALPN answer, as
 * nginx does), no renegotiation, session tickets on.
 *
 * Reload: tls_ctx_reload() builds a new SSL_CTX from the same files; only when
 * it loads completely (certificate chain, key, key matching the certificate)
 * does it replace the current one. Existing connections keep the SSL_CTX they
 * were created with (OpenSSL refcounts it); new handshakes use the new one.
 *
 * Kernel TLS: at start a loopback TCP pair probes for the kernel's "tls" ULP.
 * When present (and OpenSSL was built with KTLS) SSL_OP_ENABLE_KTLS is set and
 * connections whose send side the kernel took over send files with
 * SSL_sendfile; otherwise files are read and encrypted in user space in
 * slices of at most TLS_SLICE bytes. The decision is logged once and counted
 * in /metrics (tls_metrics).
 *
 * I/O calls return a byte count (>= 0, 0 = orderly EOF for reads) or a
 * negative errno: -EAGAIN when the socket (or the handshake) must wait; see
 * tls_conn_wants() for which direction. OpenSSL writes to the socket with
 * write(2): the process must ignore SIGPIPE (serve does). Never logs key
 * material.
 * Threading: loop thread only (the counters are plain integers).
 */
#ifndef XTREAMD_HTTP_TLS_H
#define XTREAMD_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/buf.h"

#define TLS_CIPHERS_12                                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_CIPHERSUITES_13                                                                        \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
#define TLS_SLICE 16384 /* plaintext bytes encrypted per SSL_write (one record) */

enum { TLS_WANT_READ = 1, TLS_WANT_WRITE = 2 };

struct tls_stats {
    uint64_t handshakes;           /* completed */
    uint64_t handshake_failures;   /* protocol errors, refused versions, resets mid-handshake */
    uint64_t handshake_timeouts;   /* no completed handshake within the header timeout */
    uint64_t reloads;              /* successful certificate reloads */
    uint64_t reload_failures;      /* reloads that kept the old certificate */
    uint64_t conns_ktls;           /* connections whose send side is kernel TLS */
    uint64_t conns_userspace;      /* connections encrypted in user space */
    uint64_t file_bytes_ktls;      /* file bytes sent with SSL_sendfile */
    uint64_t file_bytes_userspace; /* file bytes read and encrypted in user space */
    uint64_t io_errors;            /* fatal TLS errors after the handshake */
    bool ktls_kernel;              /* the kernel has the tls ULP */
    bool ktls_openssl;             /* OpenSSL was built with KTLS */
};

struct tls_ctx;
struct tls_conn;

/* Loads cert_file (PEM, leaf first, then the chain) and key_file; logs the
 * certificate's subject and expiry and the kernel-TLS decision. The paths are
 * copied (reload reads them again). */
int tls_ctx_new(const char *cert_file, const char *key_file, struct tls_ctx **out);
void tls_ctx_free(struct tls_ctx *t);
/* Re-reads the files; on any failure keeps the current certificate, logs
 * why (never the key) and returns the negative errno. */
int tls_ctx_reload(struct tls_ctx *t);
/* A copy of the counters, each read atomically: safe from any thread. */
struct tls_stats tls_ctx_stats(const struct tls_ctx *t);
void tls_ctx_count_timeout(struct tls_ctx *t);
/* Prometheus text: the xtreamd_tls_* series. */
void tls_metrics(const struct tls_ctx *t, struct buf *out);

/* A server-side TLS session on the connected non-blocking socket fd (not
 * owned: the caller closes it after tls_conn_free). */
int tls_conn_new(struct tls_ctx *t, int fd, struct tls_conn **out);
void tls_conn_free(struct tls_conn *tc);
/* 0 once the handshake is complete, -EAGAIN to wait (tls_conn_wants), other
 * negative errno on failure (counted). */
int tls_conn_handshake(struct tls_conn *tc);
bool tls_conn_ready(const struct tls_conn *tc);
/* The direction the last -EAGAIN waits for (TLS_WANT_*), 0 if none. */
int tls_conn_wants(const struct tls_conn *tc);
/* Decrypted bytes already buffered by OpenSSL (no socket event will come for
 * them). */
bool tls_conn_pending(const struct tls_conn *tc);
/* The last read must write first (a TLS 1.3 key update answer): read again
 * once the socket is writable. */
bool tls_conn_read_wants_write(const struct tls_conn *tc);
ssize_t tls_conn_read(struct tls_conn *tc, void *buf, size_t len);
/* Encrypts from the front of iov: at most TLS_SLICE bytes per call. After
 * -EAGAIN the caller must call again with the same bytes at the front (more
 * may follow them); the return value counts bytes of iov consumed. */
ssize_t tls_conn_writev(struct tls_conn *tc, const struct iovec *iov, int n);
/* Sends up to want bytes of fd from *off (advanced by what was sent); 0 when
 * the file ended early. Same retry rule as tls_conn_writev. */
ssize_t tls_conn_sendfile(struct tls_conn *tc, int fd, off_t *off, size_t want);
/* Best-effort close_notify before the socket is half-closed. */
void tls_conn_shutdown(struct tls_conn *tc);
/* The connection went idle: release the staging buffer and OpenSSL's record
 * buffers (an idle keep-alive TLS connection then costs only its SSL). */
void tls_conn_idle(struct tls_conn *tc);
/* "TLSv1.3", for logs and tests. */
const char *tls_conn_version(const struct tls_conn *tc);

#endif
