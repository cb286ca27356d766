/*
 * cluster/enrol.c: the edge's side of enrolment (`xtreamd node enrol MAIN_URL CODE ...`). One
 * command: the key pair is made here (the secret key never leaves the data folder), the public
 * key goes to the main with the one-time code, and the answer (node id, the main's token public
 * key, the database to use) becomes node.json. The main's side is admin/nodes.c.
 * Blocking (libcurl, easy interface): the CLI only.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster_priv.h"
#include "cluster/node.h"
#include "core/buf.h"
#include "db/db.h"

#define ENROL_MAX_ANSWER (64 * 1024)

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t len = size * n;
    if (b->len + len > ENROL_MAX_ANSWER)
        return 0; /* too large: the transfer fails */
    buf_append(b, p, len);
    return b->err ? 0 : len;
}

static int post(const char *url, const char *body, long *status, struct buf *answer, char *err,
                size_t errlen)
{
    CURL *e = curl_easy_init();
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, errlen, "cannot reach %s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? 0 : -EIO;
}

static const char *json_s(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int cluster_enrol(const struct cluster_enrol_req *r, int64_t *node_id, char *err, size_t errlen)
{
    char path[4096], url[1100], pub[64];
    unsigned char pk[32], sk[64];
    struct cluster_identity id;
    int rc;
    *node_id = 0;
    memset(&id, 0, sizeof(id));
    if (strlen(r->name) >= sizeof(id.name) || strlen(r->public_url) >= sizeof(id.public_url) ||
        strlen(r->main_url) >= sizeof(id.main_url)) {
        snprintf(err, errlen, "a name, URL or main URL is too long");
        return -EINVAL;
    }
    if ((rc = db_secure_data_dir(r->data_dir))) {
        snprintf(err, errlen, "cannot create the data folder %s: %s", r->data_dir, strerror(-rc));
        return rc;
    }
    if (cluster_path(r->data_dir, "node.json", path, sizeof(path)) == 0 &&
        access(path, F_OK) == 0) {
        snprintf(err, errlen, "%s already exists: this data folder belongs to an enrolled node",
                 path);
        return -EEXIST;
    }
    /* A key left by an earlier attempt that failed is reused: it never left the folder. */
    if ((rc = cluster_path(r->data_dir, "node.key", path, sizeof(path))) ||
        (rc = cluster_key_load(path, true, pk, sk))) {
        snprintf(err, errlen, "cannot create the node key %s: %s", path, strerror(-rc));
        return rc;
    }
    sodium_memzero(sk, sizeof(sk));
    cluster_b64_encode(pk, 32, pub, sizeof(pub));
    size_t ml = strlen(r->main_url);
    while (ml && r->main_url[ml - 1] == '/')
        ml--;
    snprintf(url, sizeof(url), "%.*s/api/v1/nodes/enrol", (int)ml, r->main_url);
    json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "code", r->code, "name", r->name, "public_url",
                            r->public_url, "pubkey", pub, "version", XTREAMD_VERSION);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct buf answer;
    buf_init(&answer, ENROL_MAX_ANSWER + 1);
    long status = 0;
    rc = post(url, body, &status, &answer, err, errlen);
    sodium_memzero(body, strlen(body)); /* the code */
    free(body);
    if (rc) {
        buf_free(&answer);
        return rc;
    }
    buf_append(&answer, "", 1);
    json_error_t je;
    json_t *a = answer.err ? NULL : json_loads(answer.data, 0, &je);
    buf_free(&answer);
    if (status != 201) {
        const char *detail = a ? json_s(a, "detail") : NULL;
        snprintf(err, errlen, "the main refused the enrolment (HTTP %ld)%s%s", status,
                 detail ? ": " : "", detail ? detail : "");
        json_decref(a);
        return status == 409 ? -EEXIST : -EACCES;
    }
    json_t *nid = a ? json_object_get(a, "node_id") : NULL;
    const char *kid = a ? json_s(a, "token_kid") : NULL,
               *tpk = a ? json_s(a, "token_pubkey") : NULL, *dbu = a ? json_s(a, "database") : NULL;
    if (!json_is_integer(nid) || !kid || !tpk || !dbu || strlen(kid) >= sizeof(id.token_kid) ||
        strlen(tpk) >= sizeof(id.token_pubkey) || strlen(dbu) >= sizeof(id.database)) {
        snprintf(err, errlen, "the main's answer is not what an enrolment returns");
        json_decref(a);
        return -EPROTO;
    }
    id.node_id = json_integer_value(nid);
    id.role = CLUSTER_ROLE_EDGE;
    snprintf(id.name, sizeof(id.name), "%s", r->name);
    snprintf(id.public_url, sizeof(id.public_url), "%s", r->public_url);
    snprintf(id.main_url, sizeof(id.main_url), "%.*s", (int)ml, r->main_url);
    snprintf(id.database, sizeof(id.database), "%s", dbu);
    snprintf(id.token_kid, sizeof(id.token_kid), "%s", kid);
    snprintf(id.token_pubkey, sizeof(id.token_pubkey), "%s", tpk);
    json_decref(a);
    if ((rc = cluster_identity_write(r->data_dir, &id))) {
        snprintf(err, errlen, "enrolled as node %lld but cannot write node.json: %s",
                 (long long)id.node_id, strerror(-rc));
        sodium_memzero(&id, sizeof(id));
        return rc;
    }
    *node_id = id.node_id;
    sodium_memzero(&id, sizeof(id));
    return 0;
}
