/*
 * http/outbound: the policy every outbound HTTP fetch of xtreamd obeys (the
 * remote-VOD relay, remote M3U imports, XMLTV downloads: all libcurl).
 *
 * A fetch may only speak http/https (redirects included) and may never
 * connect to this machine or its link: loopback (127/8, ::1), the
 * unspecified address (0.0.0.0, ::), link-local (169.254/16, fe80::/10,
 * where cloud metadata services live) and the addresses of the host's own
 * interfaces, whatever spelling of the address the URL used (127.1,
 * 2130706433, 0x7f000001, [::ffff:127.0.0.1], a DNS name that resolves to
 * it, a redirect to it). The check runs on the address curl is about to
 * connect to (CURLOPT_OPENSOCKETFUNCTION), after resolution, for every
 * connection of the transfer, so neither DNS nor redirects get around it.
 *
 * An administrator allows a host explicitly (serve --allow-host HOST, import
 * m3u --allow-host, epg import --allow-host): a connection whose URL names an
 * allowed host (exact, case-insensitive) may reach any address, except the
 * server's own listening port on a local address, which is never reachable:
 * a relayed request must never arrive at the server's own admin routes.
 *
 * Owns the process-wide policy, set once at start (before any thread runs a
 * fetch) and read-only afterwards, so fetches on any thread read it freely.
 */
#ifndef XTREAMD_HTTP_OUTBOUND_H
#define XTREAMD_HTTP_OUTBOUND_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define OUTBOUND_MAX_ALLOW 64

/* Adds an allowed host name or address literal ("[::1]" and "::1" are the
 * same); -EINVAL for an empty or oversized name, -ENOSPC past
 * OUTBOUND_MAX_ALLOW. Start-up only. */
int outbound_allow_host(const char *host);
/* Records the server's listening port and its local interface addresses
 * (getifaddrs). Start-up only; 0 or -errno. */
int outbound_set_own(int port);
/* Forgets every setting (tests). */
void outbound_reset(void);

/* Why an address is refused: NULL when allowed. host is the URL's host (may be
 * NULL), sa the resolved peer address. Pure apart from reading the policy. */
const char *outbound_refusal(const char *host, const struct sockaddr *sa, socklen_t len);

/* One transfer's check state; lives as long as the easy handle's transfer. */
struct outbound_check {
    CURL *easy;
    char refused[160]; /* "127.0.0.1 (loopback)" once a connection was refused */
};
/* Restricts the transfer to http/https (redirects too) and installs the
 * address check. The caller reports chk->refused when the transfer fails
 * with it set. */
void outbound_apply(CURL *easy, struct outbound_check *chk);

struct buf;
/* Downloads url into out (at most max bytes) under this policy, following
 * up to 5 redirects, with the connect/low-speed/total timeouts of a playlist
 * download. Blocking: call on a worker thread (or the CLI). On failure err
 * says why without echoing the URL (it may carry credentials): -EACCES
 * refused by the policy, -EFBIG too large, -EIO other. */
int outbound_fetch(const char *url, struct buf *out, size_t max, const char *user_agent, char *err,
                   size_t errlen);

#endif
