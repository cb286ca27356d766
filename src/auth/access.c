#include "auth/access.h"

#include <errno.h>
#include <fnmatch.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include "core/hashtab.h"
#include "core/ipnet.h"
#include "core/log.h"
#include "core/promtext.h"
#include "domain/access.h"
#include "domain/tx.h"

/* Reasons counted in /metrics, in dom_refusal_reasons order. */
#define NREASONS 11 /* dom_refusal_reasons */

/* ---- small helpers ---- */

/* Wall clock in ms: local entries are compared with a snapshot's built_at_ms. */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t addr_hash(const struct ipnet_addr *a)
{
    return htab_hash_bytes(0x9e3779b97f4a7c15ULL, a->b, 16);
}

static int reason_index(const char *r)
{
    for (int i = 0; i < NREASONS && dom_refusal_reasons[i]; i++)
        if (strcmp(dom_refusal_reasons[i], r) == 0)
            return i;
    return 0; /* a reason missing from NREASONS is counted under the first, never out of bounds */
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Parses ip into its rate/ban key: the address, an IPv6 client's /64. */
static bool key_of(const char *ip, struct ipnet_addr *k)
{
    struct ipnet_addr a;
    if (!ip || ipnet_parse_addr(ip, strlen(ip), &a))
        return false;
    ipnet_subscriber(&a, k);
    return true;
}

/* ip parsed, through the one-entry cache of struct access (declared below). */
struct access;
static int parse_ip(struct access *a, const char *ip, struct ipnet_addr *out);

static void key_text(const struct ipnet_addr *k, char *out, size_t n)
{
    struct ipnet net = {.addr = *k, .prefix = ipnet_is_v4(k) ? 128 : 64};
    ipnet_format(&net, out, n);
}

/* ---- tables ---- */

/* A ban known to the loop: from the snapshot (local = false) or decided /
 * lifted here and not yet in a published snapshot (local = true). */
struct ban {
    struct htab_node node;
    struct ipnet_addr key;
    int64_t until, strikes;
    int64_t last_logged;
    bool local, pending; /* pending: not yet committed by the writer */
    int64_t stamp;       /* wall ms of the commit (local, !pending) */
    uint64_t seq;        /* writer batch that carries it */
    struct ban *next_local;
};

/* A line's first IP decided or reset here (local until a snapshot has it). */
struct first_ip {
    struct first_ip *next;
    int64_t line_id;
    bool cleared; /* an admin reset: the snapshot's value is stale */
    struct ipnet_addr ip;
    bool pending;
    int64_t stamp;
    uint64_t seq;
};

/* Distinct IPs of one line on one UTC day. */
struct daily {
    struct htab_node node;
    int64_t line_id;
    int64_t day;
    struct ipnet_addr *ips;
    size_t n, cap;
};

/* A line's allowed_ips compiled on first use (per snapshot): a list walk
 * would parse every entry on every request. */
struct line_nets {
    struct htab_node node;
    int64_t line_id;
    struct ipset set;
};

/* A box's last channel (itv set_last_id), by MAC. */
struct last_channel {
    struct htab_node node;
    char mac[18];
    int64_t stream_id;
};

/* Token bucket of one IP; LRU list for the bound. */
struct bucket {
    struct htab_node node;
    struct ipnet_addr key;
    double tokens;
    uint64_t last_ms;
    int64_t last_logged;
    struct bucket *prev, *next;
};

/* Distinct IPs failing against one account (bounded ring of accounts). */
#define FLAG_SLOTS 4096
#define FLAG_IPS   32
struct flag {
    uint64_t user_hash;
    char user[65];
    uint64_t ips[FLAG_IPS];
    unsigned n;
    bool flagged;
    int64_t at;
};

/* A user-agent glob compiled once per snapshot. Most are '*' and literal
 * text only, like *BadBot/ followed by a star: those are matched here
 * (segments found in order with memmem), the rest by fnmatch(3), which for
 * these patterns means the same but costs several times more. `key` is one
 * byte the literal text requires, chosen to be rare in user agents (upper
 * case, unusual punctuation): an agent without it cannot match, which one
 * memchr tells, and globs sharing a key (a family of bots) share that memchr
 * (struct ua_probe) — a typical agent is turned away by every glob without
 * its text being compared. */
struct glob {
    const char *pat;
    size_t len;
    bool simple;
    int key; /* -1: none (no literal byte, or not simple) */
};

/* How common byte c is in user agents (lower: a better key). */
static int commonness(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' || c == '/' || c == '.')
        return 3;
    if (c == ';' || c == '(' || c == ')' || c == '_' || c == '-' || c == ':' || c == ',')
        return 2;
    if (c == 'M' || c == 'A' || c == 'L' || c == 'W' || c == 'K' || c == 'S' || c == 'C' ||
        c == 'H' || c == 'T' || c == 'U' || c == 'X')
        return 1; /* Mozilla, AppleWebKit, KHTML, Linux, Safari, X11, U; */
    return 0;
}

static void glob_compile(struct glob *g, const char *pat, size_t len)
{
    g->pat = pat;
    g->len = len;
    g->simple = true;
    g->key = -1;
    int best = 4;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pat[i];
        if (c == '?' || c == '[' || c == '\\') {
            g->simple = false;
            g->key = -1;
            return;
        }
        if (c != '*' && commonness(c) < best) {
            best = commonness(c);
            g->key = c;
        }
    }
}

/* The key bytes looked for in one user agent so far. */
struct ua_probe {
    uint64_t checked[4], present[4];
};

/* A '*'-only glob p (plen bytes) against s: the first segment is a prefix,
 * the last a suffix, those between are found leftmost in order (leftmost is
 * never worse for the segments after it, so no backtracking is needed). */
static bool star_match(const char *p, size_t plen, const char *s, size_t slen)
{
    const char *star = memchr(p, '*', plen);
    if (!star)
        return plen == slen && memcmp(p, s, slen) == 0;
    size_t head = (size_t)(star - p);
    if (head > slen || memcmp(p, s, head) != 0)
        return false;
    const char *last = p + plen;
    while (last > star && last[-1] != '*')
        last--;
    size_t tail = (size_t)(p + plen - last);
    if (head + tail > slen || memcmp(last, s + slen - tail, tail) != 0)
        return false;
    const char *pos = s + head, *end = s + slen - tail;
    const char *q = star + 1;
    while (q < last) {
        const char *next = memchr(q, '*', (size_t)(last - q));
        size_t seg = (size_t)(next - q);
        if (seg) {
            const char *at = memmem(pos, (size_t)(end - pos), q, seg);
            if (!at)
                return false;
            pos = at + seg;
        }
        q = next + 1;
    }
    return true;
}

static bool glob_match(const struct glob *g, const char *ua, size_t ualen, struct ua_probe *pr)
{
    if (!g->simple) {
        char pat[DOM_ACCESS_UA_MAX + 1];
        if (g->len >= sizeof(pat))
            return false; /* the domain refuses longer patterns */
        memcpy(pat, g->pat, g->len);
        pat[g->len] = '\0';
        return fnmatch(pat, ua, 0) == 0;
    }
    if (g->key >= 0) {
        unsigned w = (unsigned)g->key >> 6;
        uint64_t bit = 1ULL << (g->key & 63);
        if (!(pr->checked[w] & bit)) {
            pr->checked[w] |= bit;
            if (memchr(ua, g->key, ualen))
                pr->present[w] |= bit;
        }
        if (!(pr->present[w] & bit))
            return false;
    }
    return star_match(g->pat, g->len, ua, ualen);
}

/* ---- the writer's batch ---- */

enum op_kind {
    OP_REFUSAL,
    OP_BAN,
    OP_FIRST_IP,
    OP_FLAG,
    OP_SEEN, /* from here on: the activity file */
    OP_DAILY,
    OP_DAILY_RESET,
    OP_LAST_CHANNEL
};

struct op {
    enum op_kind kind;
    int64_t at, line_id, until, strikes;
    char ip[IPNET_TEXT_MAX];
    char user[65];
    char ua[256];
    char route[64];
    char reason[24];
    char detail[96];
};

struct batch {
    uv_work_t work;
    struct access *a;
    struct op *ops;
    size_t n;
    uint64_t seq;
    int rc;
    int64_t committed_at;
};

struct access {
    struct access_config cfg;
    uv_loop_t *loop;
    char *data_dir;
    char *geoip_path;
    MMDB_s mmdb;
    bool geoip;
    uint64_t last_flush_ms;

    const struct catalog *cat; /* referenced */
    struct ipset deny, trusted;
    struct glob *ua_allow, *ua_deny;
    size_t n_ua_allow, n_ua_deny;
    bool global_rules; /* any ip_deny, UA or country rule in the snapshot */

    /* The last address parsed: one request asks for it up to three times
     * (rate, global, line), and inet_pton is most of what a check costs. */
    char last_ip[IPNET_TEXT_MAX];
    struct ipnet_addr last_addr;
    bool last_ok;
    uint8_t c_allow[26 * 26], c_deny[26 * 26];
    bool has_c_allow, has_c_deny;

    struct htab bans; /* struct ban: snapshot ones (array) + local ones (heap) */
    struct ban *snap_bans;
    size_t n_snap_bans;
    struct ban *local_bans;
    struct first_ip *firsts;

    struct htab line_nets; /* struct line_nets, dropped with each snapshot */
    struct htab daily;
    size_t n_daily;
    struct htab last_channels; /* struct last_channel, bounded by max_ips */
    size_t n_last_channels;
    uint64_t last_channels_full;
    struct htab buckets;
    struct bucket *lru_head, *lru_tail; /* head = most recent */
    size_t n_buckets;

    struct flag *flags; /* FLAG_SLOTS */
    size_t flag_next;

    struct op *queue;
    size_t nqueue, capqueue;
    uint64_t seq;
    struct batch *inflight;
    struct db *db; /* the writer's (pool thread, one batch at a time) */

    uint64_t refusals[NREASONS];
    uint64_t log_dropped, log_quieted, rate_evictions, daily_full, bans_made, flagged;
    uint64_t write_failures, geoip_errors, forwarded_used;
    uint64_t activity_dropped; /* device-seen / daily-address rows not queued */
};

static int parse_ip(struct access *a, const char *ip, struct ipnet_addr *out)
{
    if (!ip)
        return -EINVAL;
    if (a->last_ip[0] && strcmp(a->last_ip, ip) == 0) {
        *out = a->last_addr;
        return a->last_ok ? 0 : -EINVAL;
    }
    size_t n = strlen(ip);
    int rc = ipnet_parse_addr(ip, n, out);
    if (n < sizeof(a->last_ip)) {
        memcpy(a->last_ip, ip, n + 1);
        a->last_addr = rc ? (struct ipnet_addr){{0}} : *out;
        a->last_ok = rc == 0;
    }
    return rc;
}

void access_config_defaults(struct access_config *c)
{
    memset(c, 0, sizeof(*c));
    c->ban_after = 20;
    c->ban_secs = 600;
    c->ban_max_secs = 7 * 86400;
    c->flag_ips = 5;
    c->rate = 0;
    c->burst = 0;
    c->max_ips = 65536;
    c->log_max = 100000;
    c->queue_max = 4096;
    c->flush_ms = 500;
}

int access_config_set(struct access_config *c, const char *kv)
{
    static const struct {
        const char *key;
        size_t off;
        unsigned lo, hi;
    } keys[] = {
        {"ban-after", offsetof(struct access_config, ban_after), 0, 1000000},
        {"ban-time", offsetof(struct access_config, ban_secs), 1, 31536000},
        {"ban-max", offsetof(struct access_config, ban_max_secs), 1, 31536000},
        {"flag-ips", offsetof(struct access_config, flag_ips), 0, FLAG_IPS},
        {"rate", offsetof(struct access_config, rate), 0, 1000000},
        {"burst", offsetof(struct access_config, burst), 0, 1000000},
        {"max-ips", offsetof(struct access_config, max_ips), 16, 10000000},
        {"log-max", offsetof(struct access_config, log_max), 100, 100000000},
    };
    const char *eq = strchr(kv, '=');
    if (!eq)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strlen(keys[i].key) != (size_t)(eq - kv) || strncmp(kv, keys[i].key, (size_t)(eq - kv)))
            continue;
        char *end;
        long v = strtol(eq + 1, &end, 10);
        if (end == eq + 1 || *end || v < (long)keys[i].lo || v > (long)keys[i].hi)
            return -EINVAL;
        *(unsigned *)((char *)c + keys[i].off) = (unsigned)v;
        return 0;
    }
    return -EINVAL;
}

/* ---- the writer ---- */

static void batch_work(uv_work_t *w)
{
    struct batch *b = w->data;
    struct access *a = b->a;
    struct dom_error e = {0};
    b->rc = 0;
    if (!a->db && dom_db_open(a->data_dir, &a->db)) {
        b->rc = -EIO;
        return;
    }
    struct db_refusal *rows = calloc(b->n ? b->n : 1, sizeof(*rows));
    struct db_activity *acts = calloc(b->n ? b->n : 1, sizeof(*acts));
    if (!rows || !acts) {
        free(rows);
        free(acts);
        b->rc = -ENOMEM;
        return;
    }
    size_t nr = 0, nother = 0, nact = 0;
    for (size_t i = 0; i < b->n; i++)
        nother += b->ops[i].kind < OP_SEEN && b->ops[i].kind != OP_REFUSAL;
    /* Bans, first IPs and flags: the main database (a catalogue change);
     * refusals: their own file (db/access.c), so a refusal flood does not
     * rebuild the catalogue. */
    int rc = nother ? dom_begin(a->db, &e) : 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        struct op *o = &b->ops[i];
        switch (o->kind) {
        case OP_REFUSAL:
            rows[nr++] = (struct db_refusal){.at = o->at,
                                             .line_id = o->line_id,
                                             .username = o->user,
                                             .ip = o->ip,
                                             .user_agent = o->ua,
                                             .route = o->route,
                                             .reason = o->reason,
                                             .detail = o->detail};
            break;
        case OP_BAN:
            rc = db_ban_put(a->db, o->ip, o->until, o->strikes, o->reason, o->at);
            break;
        case OP_FIRST_IP:
            rc = db_line_first_ip(a->db, o->line_id, o->ip);
            break;
        case OP_FLAG:
            rc = db_line_flag_attack(a->db, o->user, o->at);
            break;
        case OP_SEEN:
        case OP_DAILY:
        case OP_DAILY_RESET:
        case OP_LAST_CHANNEL:
            /* the refusal log's file too: a box's watchdog call every
             * two minutes, or a zap, must not rebuild the catalogue */
            acts[nact++] =
                (struct db_activity){.kind = o->kind == OP_SEEN          ? DB_ACT_SEEN
                                             : o->kind == OP_DAILY       ? DB_ACT_DAILY
                                             : o->kind == OP_DAILY_RESET ? DB_ACT_DAILY_RESET
                                                                         : DB_ACT_LAST_CHANNEL,
                                     .at = o->at,
                                     .line_id = o->line_id,
                                     .text = o->ip};
            break;
        }
    }
    if (nother) {
        if (rc == 0)
            rc = db_bans_prune(a->db, (int64_t)time(NULL) - 30 * 86400);
        if (rc == 0)
            rc = dom_commit(a->db, &e);
        else
            dom_rollback(a->db);
    }
    if (rc == 0 && nr)
        rc = db_refusals_add(a->db, rows, nr, a->cfg.log_max);
    if (rc == 0 && nact)
        rc = db_activity_add(a->db, acts, nact, (int64_t)time(NULL) / 86400 - 1);
    free(rows);
    free(acts);
    b->committed_at = wall_ms();
    b->rc = rc;
}

static void confirm(struct access *a, uint64_t seq, int64_t at)
{
    for (struct ban *bn = a->local_bans; bn; bn = bn->next_local)
        if (bn->pending && bn->seq <= seq) {
            bn->pending = false;
            bn->stamp = at;
        }
    for (struct first_ip *f = a->firsts; f; f = f->next)
        if (f->pending && f->seq <= seq) {
            f->pending = false;
            f->stamp = at;
        }
}

static void batch_done(uv_work_t *w, int status)
{
    struct batch *b = w->data;
    struct access *a = b->a;
    a->inflight = NULL;
    if (status || b->rc) {
        a->write_failures++;
        log_error("access", "writing %zu refusals/bans failed (%d); they stay in memory", b->n,
                  status ? status : b->rc);
    } else {
        confirm(a, b->seq, b->committed_at);
    }
    free(b->ops);
    free(b);
}

static void start_batch(struct access *a)
{
    if (a->inflight || a->nqueue == 0 || !a->data_dir || !a->loop)
        return;
    struct batch *b = calloc(1, sizeof(*b));
    if (!b)
        return;
    b->a = a;
    b->ops = a->queue;
    b->n = a->nqueue;
    b->seq = a->seq;
    b->work.data = b;
    a->queue = NULL;
    a->nqueue = a->capqueue = 0;
    a->inflight = b;
    if (uv_queue_work(a->loop, &b->work, batch_work, batch_done)) {
        a->inflight = NULL;
        a->queue = b->ops; /* try again next tick */
        a->nqueue = b->n;
        a->capqueue = b->n;
        free(b);
    }
}

void access_tick(struct access *a, uint64_t now_ms)
{
    /* Called about every 0.5 s (api_tick): no timer handle of our own, so
     * nothing of ours is left in the loop after it stops. */
    if (now_ms - a->last_flush_ms >= a->cfg.flush_ms || a->nqueue >= a->cfg.queue_max / 2) {
        a->last_flush_ms = now_ms;
        start_batch(a);
    }
}

static struct op *queue_op(struct access *a, enum op_kind kind)
{
    /* Bans, first IPs and flags must not be lost to a refusal flood: the
     * bound applies to refusals only (the others are bounded by the tables). */
    if (kind == OP_REFUSAL && a->nqueue >= a->cfg.queue_max) {
        a->log_dropped++;
        return NULL;
    }
    if ((kind == OP_SEEN || kind == OP_DAILY || kind == OP_LAST_CHANNEL) &&
        a->nqueue >= a->cfg.queue_max) {
        a->activity_dropped++;
        return NULL;
    }
    if (a->nqueue == a->capqueue) {
        size_t cap = a->capqueue ? a->capqueue * 2 : 64;
        struct op *q = realloc(a->queue, cap * sizeof(*q));
        if (!q) {
            a->log_dropped++;
            return NULL;
        }
        a->queue = q;
        a->capqueue = cap;
    }
    struct op *o = &a->queue[a->nqueue++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    a->seq++;
    return o;
}

void access_flush(struct access *a)
{
    if (!a->data_dir || a->nqueue == 0)
        return;
    struct batch b = {.a = a, .ops = a->queue, .n = a->nqueue, .seq = a->seq};
    a->queue = NULL;
    a->nqueue = a->capqueue = 0;
    b.work.data = &b;
    batch_work(&b.work);
    if (b.rc)
        a->write_failures++;
    else
        confirm(a, b.seq, b.committed_at);
    free(b.ops);
}

/* ---- life ---- */

static int daily_load_one(void *ctx, int64_t line_id, const char *text);
static int last_channel_load_one(void *ctx, const char *mac, int64_t stream_id);

int access_new(uv_loop_t *loop, const char *data_dir, const struct access_config *cfg,
               struct access **out)
{
    struct access *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->cfg = *cfg;
    if (a->cfg.burst == 0)
        a->cfg.burst = a->cfg.rate * 2;
    a->loop = loop;
    a->flags = calloc(FLAG_SLOTS, sizeof(*a->flags));
    if (!a->flags || (data_dir && !(a->data_dir = strdup(data_dir))))
        goto nomem;
    if (cfg->geoip_db && *cfg->geoip_db) {
        int rc = MMDB_open(cfg->geoip_db, MMDB_MODE_MMAP, &a->mmdb);
        if (rc != MMDB_SUCCESS) {
            log_error("access", "cannot open the country database %s: %s; country rules are off",
                      cfg->geoip_db, MMDB_strerror(rc));
        } else {
            a->geoip = true;
            log_info("access", "country database %s (%s)", cfg->geoip_db,
                     a->mmdb.metadata.database_type);
        }
    }
    a->cfg.geoip_db = NULL;
    if (a->data_dir) {
        /* Today's distinct addresses per line, as written before a restart
         * (a read at start-up, before the loop serves anyone). */
        int rc = dom_db_open(a->data_dir, &a->db);
        if (!rc)
            rc = db_daily_ips_load(a->db, (int64_t)time(NULL) / 86400, daily_load_one, a);
        if (rc == -ENOMEM)
            goto nomem;
        if (rc)
            log_warn("access", "today's addresses per line could not be read (%d): counted afresh",
                     rc);
        else if (a->n_daily)
            log_info("access", "today's addresses of %zu lines restored", a->n_daily);
        if (a->db) {
            rc = db_last_channels_load(a->db, last_channel_load_one, a);
            if (rc == -ENOMEM)
                goto nomem;
            if (rc)
                log_warn("access", "the boxes' last channels could not be read (%d)", rc);
        }
    }
    *out = a;
    return 0;
nomem:
    access_free(a);
    return -ENOMEM;
}

void access_reconfigure(struct access *a, const struct access_config *cfg)
{
    if (cfg->geoip_db && *cfg->geoip_db) {
        MMDB_s m;
        int rc = MMDB_open(cfg->geoip_db, MMDB_MODE_MMAP, &m);
        if (rc != MMDB_SUCCESS) {
            log_error("access", "cannot open the country database %s: %s; %s", cfg->geoip_db,
                      MMDB_strerror(rc),
                      a->geoip ? "keeping the one loaded" : "country rules stay off");
        } else {
            if (a->geoip)
                MMDB_close(&a->mmdb);
            a->mmdb = m;
            a->geoip = true;
            log_info("access", "country database %s (%s) loaded", cfg->geoip_db,
                     a->mmdb.metadata.database_type);
        }
    } else if (a->geoip) {
        MMDB_close(&a->mmdb);
        a->geoip = false;
        log_info("access", "no country database: country rules are off");
    }
    unsigned queue_max = a->cfg.queue_max, flush_ms = a->cfg.flush_ms;
    a->cfg = *cfg;
    a->cfg.geoip_db = NULL;
    a->cfg.queue_max = queue_max; /* not --access keys: as at start */
    a->cfg.flush_ms = flush_ms;
    if (a->cfg.burst == 0)
        a->cfg.burst = a->cfg.rate * 2;
}

static void drop_line_nets(struct access *a)
{
    size_t i = 0;
    struct htab_node *cur = NULL, *n;
    while ((n = htab_iter(&a->line_nets, &i, &cur))) {
        struct line_nets *ln = htab_entry(n, struct line_nets, node);
        htab_remove(&a->line_nets, n);
        ipset_free(&ln->set);
        free(ln);
    }
}

static void drop_compiled(struct access *a)
{
    drop_line_nets(a);
    ipset_free(&a->deny);
    ipset_free(&a->trusted);
    free(a->ua_allow);
    free(a->ua_deny);
    a->ua_allow = a->ua_deny = NULL;
    a->n_ua_allow = a->n_ua_deny = 0;
    a->global_rules = false;
    for (size_t i = 0; i < a->n_snap_bans; i++)
        htab_remove(&a->bans, &a->snap_bans[i].node);
    free(a->snap_bans);
    a->snap_bans = NULL;
    a->n_snap_bans = 0;
}

static void free_daily(struct access *a)
{
    size_t i = 0;
    struct htab_node *cur = NULL, *n;
    while ((n = htab_iter(&a->daily, &i, &cur))) {
        struct daily *d = htab_entry(n, struct daily, node);
        htab_remove(&a->daily, n);
        free(d->ips);
        free(d);
    }
    a->n_daily = 0;
}

void access_free(struct access *a)
{
    if (!a)
        return;
    if (!a->inflight)
        access_flush(a);
    else
        log_warn("access", "shutting down with a write in flight; its rows may be lost");
    drop_compiled(a);
    while (a->local_bans) {
        struct ban *b = a->local_bans;
        a->local_bans = b->next_local;
        htab_remove(&a->bans, &b->node);
        free(b);
    }
    htab_free(&a->bans);
    htab_free(&a->line_nets);
    while (a->firsts) {
        struct first_ip *f = a->firsts;
        a->firsts = f->next;
        free(f);
    }
    free_daily(a);
    htab_free(&a->daily);
    size_t li = 0;
    struct htab_node *lcur = NULL, *ln;
    while ((ln = htab_iter(&a->last_channels, &li, &lcur))) {
        htab_remove(&a->last_channels, ln);
        free(htab_entry(ln, struct last_channel, node));
    }
    htab_free(&a->last_channels);
    while (a->lru_head) {
        struct bucket *b = a->lru_head;
        a->lru_head = b->next;
        free(b);
    }
    htab_free(&a->buckets);
    if (a->db && !a->inflight)
        dom_db_close(a->db);
    if (a->geoip)
        MMDB_close(&a->mmdb);
    if (a->cat)
        catalog_unref((struct catalog *)a->cat);
    free(a->queue);
    free(a->flags);
    free(a->data_dir);
    free(a);
}

static struct ban *ban_find(const struct access *a, const struct ipnet_addr *k)
{
    /* A local entry overrides the snapshot's. */
    struct ban *snap = NULL;
    for (struct htab_node *n = htab_first(&a->bans, addr_hash(k)); n; n = htab_next(n)) {
        struct ban *b = htab_entry(n, struct ban, node);
        if (memcmp(&b->key, k, sizeof(*k)) == 0) {
            if (b->local)
                return b;
            snap = b;
        }
    }
    return snap;
}

static void set_country(uint8_t *map, const char *cc)
{
    if (dom_country_valid(cc))
        map[((cc[0] & ~0x20) - 'A') * 26 + ((cc[1] & ~0x20) - 'A')] = 1;
}

void access_set_catalog(struct access *a, const struct catalog *c)
{
    drop_compiled(a);
    memset(a->c_allow, 0, sizeof(a->c_allow));
    memset(a->c_deny, 0, sizeof(a->c_deny));
    a->has_c_allow = a->has_c_deny = false;
    if (a->cat)
        catalog_unref((struct catalog *)a->cat);
    a->cat = c ? catalog_ref((struct catalog *)c) : NULL;
    if (!c)
        return;
    size_t n = c->access_rule_count;
    struct ipnet *deny = calloc(n ? n : 1, sizeof(*deny)),
                 *trust = calloc(n ? n : 1, sizeof(*trust));
    a->ua_allow = calloc(n ? n : 1, sizeof(*a->ua_allow));
    a->ua_deny = calloc(n ? n : 1, sizeof(*a->ua_deny));
    size_t nd = 0, nt = 0;
    if (!deny || !trust || !a->ua_allow || !a->ua_deny) {
        log_error("access", "out of memory compiling %zu access rules", n);
    } else {
        for (size_t i = 0; i < n; i++) {
            const struct cat_access_rule *r = &c->access_rules[i];
            struct ipnet net;
            if (strcmp(r->kind, "ip_deny") == 0 && !ipnet_parse(r->value, strlen(r->value), &net))
                deny[nd++] = net;
            else if (strcmp(r->kind, "trusted_proxy") == 0 &&
                     !ipnet_parse(r->value, strlen(r->value), &net))
                trust[nt++] = net;
            else if (strcmp(r->kind, "ua_allow") == 0)
                glob_compile(&a->ua_allow[a->n_ua_allow++], r->value, strlen(r->value));
            else if (strcmp(r->kind, "ua_deny") == 0)
                glob_compile(&a->ua_deny[a->n_ua_deny++], r->value, strlen(r->value));
            else if (strcmp(r->kind, "country_allow") == 0)
                set_country(a->c_allow, r->value), a->has_c_allow = true;
            else if (strcmp(r->kind, "country_deny") == 0)
                set_country(a->c_deny, r->value), a->has_c_deny = true;
        }
        if (ipset_build(&a->deny, deny, nd) || ipset_build(&a->trusted, trust, nt))
            log_error("access", "out of memory compiling address rules");
    }
    a->global_rules = a->deny.n || a->n_ua_allow || a->n_ua_deny || a->has_c_allow || a->has_c_deny;
    free(deny);
    free(trust);
    a->snap_bans = calloc(c->ban_count ? c->ban_count : 1, sizeof(*a->snap_bans));
    for (size_t i = 0; a->snap_bans && i < c->ban_count; i++) {
        struct ban *b = &a->snap_bans[a->n_snap_bans];
        struct ipnet net;
        if (ipnet_parse(c->bans[i].ip, strlen(c->bans[i].ip), &net))
            continue;
        b->key = net.addr;
        b->until = c->bans[i].until;
        b->strikes = c->bans[i].strikes;
        htab_insert(&a->bans, &b->node, addr_hash(&b->key));
        a->n_snap_bans++;
    }
    /* Local entries the snapshot has seen (committed before it was built). */
    for (struct ban **pp = &a->local_bans; *pp;) {
        struct ban *b = *pp;
        if (!b->pending && b->stamp < c->built_at_ms) {
            *pp = b->next_local;
            htab_remove(&a->bans, &b->node);
            free(b);
        } else {
            pp = &b->next_local;
        }
    }
    for (struct first_ip **pp = &a->firsts; *pp;) {
        struct first_ip *f = *pp;
        if (!f->pending && f->stamp < c->built_at_ms) {
            *pp = f->next;
            free(f);
        } else {
            pp = &f->next;
        }
    }
}

bool access_geoip_enabled(const struct access *a)
{
    return a->geoip;
}

/* ---- checks ---- */

void access_client_ip(struct access *a, char *ip, size_t iplen, const char *forwarded,
                      const char *xff)
{
    if (a->trusted.n == 0 || (!forwarded && !xff))
        return;
    struct ipnet_addr peer, client;
    if (ipnet_parse_addr(ip, strlen(ip), &peer))
        return;
    if (ipnet_client_addr(&peer, &a->trusted, forwarded, xff, &client)) {
        ipnet_format_addr(&client, ip, iplen);
        a->forwarded_used++;
    }
}

static void lru_unlink(struct access *a, struct bucket *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        a->lru_head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        a->lru_tail = b->prev;
    b->prev = b->next = NULL;
}

static void lru_front(struct access *a, struct bucket *b)
{
    b->next = a->lru_head;
    b->prev = NULL;
    if (a->lru_head)
        a->lru_head->prev = b;
    a->lru_head = b;
    if (!a->lru_tail)
        a->lru_tail = b;
}

uint64_t access_rate(struct access *a, const char *ip, uint64_t now_ms, bool *log_it)
{
    *log_it = false;
    struct ipnet_addr addr, k;
    if (a->cfg.rate == 0 || parse_ip(a, ip, &addr))
        return 0;
    ipnet_subscriber(&addr, &k);
    uint64_t h = addr_hash(&k);
    struct bucket *b = NULL;
    for (struct htab_node *n = htab_first(&a->buckets, h); n && !b; n = htab_next(n)) {
        struct bucket *x = htab_entry(n, struct bucket, node);
        if (memcmp(&x->key, &k, sizeof(k)) == 0)
            b = x;
    }
    if (!b) {
        if (a->n_buckets >= a->cfg.max_ips && a->lru_tail) {
            /* The IP quiet for longest: it has refilled the most anyway. */
            b = a->lru_tail;
            lru_unlink(a, b);
            htab_remove(&a->buckets, &b->node);
            a->rate_evictions++;
            a->n_buckets--;
        } else if (!(b = malloc(sizeof(*b)))) {
            return 0; /* out of memory: not limited rather than refused */
        }
        memset(b, 0, sizeof(*b));
        b->key = k;
        b->tokens = a->cfg.burst;
        b->last_ms = now_ms;
        htab_insert(&a->buckets, &b->node, h);
        a->n_buckets++;
    } else {
        lru_unlink(a, b);
        double add = (double)(now_ms - b->last_ms) * a->cfg.rate / 1000.0;
        b->tokens = b->tokens + add > a->cfg.burst ? a->cfg.burst : b->tokens + add;
        b->last_ms = now_ms;
    }
    lru_front(a, b);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    a->refusals[reason_index("RATE_LIMITED")]++;
    int64_t now = (int64_t)(time(NULL));
    if (now - b->last_logged >= ACCESS_LOG_QUIET_SECS) {
        b->last_logged = now;
        *log_it = true;
    } else {
        a->log_quieted++;
    }
    uint64_t wait = (uint64_t)((1.0 - b->tokens) * 1000.0 / a->cfg.rate);
    return wait ? wait : 1;
}

static bool glob_any(const struct glob *globs, size_t n, const char *ua, size_t ualen,
                     struct ua_probe *pr)
{
    for (size_t i = 0; i < n; i++)
        if (glob_match(&globs[i], ua, ualen, pr))
            return true;
    return false;
}

bool access_glob_match(const char *pat, const char *ua)
{
    struct glob g;
    glob_compile(&g, pat, strlen(pat));
    struct ua_probe pr = {{0}, {0}};
    return glob_match(&g, ua, strlen(ua), &pr);
}

/* A '\n' list of globs (a line's; compiled as they are walked). */
static bool glob_list_any(const char *list, const char *ua)
{
    size_t ualen = strlen(ua);
    struct ua_probe pr = {{0}, {0}};
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, "\n");
        struct glob g;
        glob_compile(&g, p, n);
        if (n <= DOM_ACCESS_UA_MAX && glob_match(&g, ua, ualen, &pr))
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

/* The client's country ("" when unknown or no database). */
static void country_of(struct access *a, const char *ip, char cc[3])
{
    cc[0] = '\0';
    if (!a->geoip)
        return;
    int gai = 0, mmerr = 0;
    MMDB_lookup_result_s res = MMDB_lookup_string(&a->mmdb, ip, &gai, &mmerr);
    if (gai || mmerr != MMDB_SUCCESS) {
        a->geoip_errors++;
        return;
    }
    if (!res.found_entry)
        return;
    MMDB_entry_data_s d;
    if (MMDB_get_value(&res.entry, &d, "country", "iso_code", NULL) == MMDB_SUCCESS && d.has_data &&
        d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2) {
        cc[0] = d.utf8_string[0];
        cc[1] = d.utf8_string[1];
        cc[2] = '\0';
    }
}

static bool country_in(const uint8_t *map, const char *cc)
{
    return dom_country_valid(cc) && map[((cc[0] & ~0x20) - 'A') * 26 + ((cc[1] & ~0x20) - 'A')];
}

static bool country_list_has(const char *list, const char *cc)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 2 && cc[0] && p[0] == cc[0] && p[1] == cc[1])
            return true;
        p += n;
        if (*p)
            p++;
    }
    return false;
}

const char *access_check_global(struct access *a, const struct access_req *r, int64_t *retry_secs,
                                bool *log_it)
{
    *log_it = true;
    /* Nothing to match (the common case of a server without global rules):
     * not even the address is parsed. */
    if (!a->global_rules && a->bans.n == 0)
        return NULL;
    struct ipnet_addr addr, k;
    if (parse_ip(a, r->ip, &addr))
        return NULL; /* not an IP socket (tests on a pipe): nothing to match */
    ipnet_subscriber(&addr, &k);
    struct ban *b = a->bans.n ? ban_find(a, &k) : NULL;
    if (b && b->until > r->now) {
        *retry_secs = b->until - r->now;
        if (r->now - b->last_logged < ACCESS_LOG_QUIET_SECS) {
            *log_it = false;
            a->log_quieted++;
        } else {
            b->last_logged = r->now;
        }
        return "BANNED_IP";
    }
    if (a->deny.n && ipset_contains(&a->deny, &addr))
        return "IP_DENIED";
    if (a->n_ua_deny || a->n_ua_allow) {
        const char *ua = r->user_agent ? r->user_agent : "";
        size_t ualen = strlen(ua);
        struct ua_probe pr = {{0}, {0}};
        if (a->n_ua_deny && glob_any(a->ua_deny, a->n_ua_deny, ua, ualen, &pr))
            return "UA_BLOCKED";
        if (a->n_ua_allow && !glob_any(a->ua_allow, a->n_ua_allow, ua, ualen, &pr))
            return "UA_BLOCKED";
    }
    if (a->geoip && (a->has_c_allow || a->has_c_deny)) {
        char cc[3];
        country_of(a, r->ip, cc);
        if (a->has_c_deny && country_in(a->c_deny, cc))
            return "COUNTRY_BLOCKED";
        if (a->has_c_allow && !country_in(a->c_allow, cc))
            return "COUNTRY_BLOCKED";
    }
    return NULL;
}

static struct first_ip *first_find(struct access *a, int64_t line_id)
{
    for (struct first_ip *f = a->firsts; f; f = f->next)
        if (f->line_id == line_id)
            return f;
    return NULL;
}

/* The line's distinct IPs today; false when ip would exceed the cap. */
static bool daily_admit(struct access *a, const struct cat_line *l, const struct ipnet_addr *ip,
                        int64_t now)
{
    int64_t day = now / 86400;
    uint64_t h = htab_hash_u64((uint64_t)l->id);
    struct daily *d = NULL;
    for (struct htab_node *n = htab_first(&a->daily, h); n && !d; n = htab_next(n)) {
        struct daily *x = htab_entry(n, struct daily, node);
        if (x->line_id == l->id)
            d = x;
    }
    if (!d) {
        if (a->n_daily >= a->cfg.max_ips) {
            a->daily_full++;
            free_daily(a); /* a new day's worth of memory: counted, never silent */
        }
        d = calloc(1, sizeof(*d));
        if (!d)
            return true;
        d->line_id = l->id;
        d->day = day;
        htab_insert(&a->daily, &d->node, h);
        a->n_daily++;
    }
    if (d->day != day) {
        d->day = day;
        d->n = 0;
    }
    for (size_t i = 0; i < d->n; i++)
        if (memcmp(&d->ips[i], ip, sizeof(*ip)) == 0)
            return true;
    if (d->n >= (size_t)l->max_daily_ips)
        return false;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        struct ipnet_addr *v = realloc(d->ips, cap * sizeof(*v));
        if (!v)
            return true;
        d->ips = v;
        d->cap = cap;
    }
    d->ips[d->n++] = *ip;
    /* Persisted (batched, off the loop) so that a restart does not give
     * the line a fresh day's allowance; reloaded by access_new. */
    struct op *o = queue_op(a, OP_DAILY);
    if (o) {
        o->at = day;
        o->line_id = l->id;
        ipnet_format_addr(ip, o->ip, sizeof(o->ip));
    }
    return true;
}

/* One address of today's, from the activity file (access_new). */
static int daily_load_one(void *ctx, int64_t line_id, const char *text)
{
    struct access *a = ctx;
    struct ipnet_addr ip;
    if (!text || ipnet_parse_addr(text, strlen(text), &ip) != 0)
        return 0; /* not ours: skipped */
    int64_t day = (int64_t)time(NULL) / 86400;
    uint64_t h = htab_hash_u64((uint64_t)line_id);
    struct daily *d = NULL;
    for (struct htab_node *n = htab_first(&a->daily, h); n && !d; n = htab_next(n)) {
        struct daily *x = htab_entry(n, struct daily, node);
        if (x->line_id == line_id)
            d = x;
    }
    if (!d) {
        if (a->n_daily >= a->cfg.max_ips) {
            a->daily_full++;
            return 0;
        }
        if (!(d = calloc(1, sizeof(*d))))
            return -ENOMEM;
        d->line_id = line_id;
        d->day = day;
        htab_insert(&a->daily, &d->node, h);
        a->n_daily++;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 4;
        struct ipnet_addr *v = realloc(d->ips, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        d->ips = v;
        d->cap = cap;
    }
    d->ips[d->n++] = ip;
    return 0;
}

void access_device_seen(struct access *a, const char *mac, int64_t now)
{
    struct op *o = queue_op(a, OP_SEEN);
    if (!o)
        return;
    o->at = now;
    copy(o->ip, sizeof(o->ip), mac);
}

static struct last_channel *last_channel_find(const struct access *a, const char *mac, uint64_t h)
{
    for (struct htab_node *n = htab_first(&a->last_channels, h); n; n = htab_next(n)) {
        struct last_channel *c = htab_entry(n, struct last_channel, node);
        if (strcmp(c->mac, mac) == 0)
            return c;
    }
    return NULL;
}

/* Remembers mac's last channel in memory; false when the table is full
 * (counted) or memory is short. */
static bool last_channel_put(struct access *a, const char *mac, int64_t stream_id)
{
    uint64_t h = htab_hash_bytes(0x243f6a8885a308d3ULL, mac, strlen(mac));
    struct last_channel *c = last_channel_find(a, mac, h);
    if (!c) {
        if (a->n_last_channels >= a->cfg.max_ips) {
            a->last_channels_full++;
            return false;
        }
        if (!(c = calloc(1, sizeof(*c))))
            return false;
        copy(c->mac, sizeof(c->mac), mac);
        htab_insert(&a->last_channels, &c->node, h);
        a->n_last_channels++;
    }
    c->stream_id = stream_id;
    return true;
}

static int last_channel_load_one(void *ctx, const char *mac, int64_t stream_id)
{
    if (mac && strlen(mac) < sizeof(((struct last_channel *)0)->mac))
        last_channel_put(ctx, mac, stream_id);
    return 0;
}

int64_t access_last_channel(const struct access *a, const char *mac)
{
    uint64_t h = htab_hash_bytes(0x243f6a8885a308d3ULL, mac, strlen(mac));
    const struct last_channel *c = last_channel_find(a, mac, h);
    return c ? c->stream_id : 0;
}

void access_set_last_channel(struct access *a, const char *mac, int64_t stream_id, int64_t now)
{
    if (strlen(mac) >= sizeof(((struct last_channel *)0)->mac))
        return;
    uint64_t h = htab_hash_bytes(0x243f6a8885a308d3ULL, mac, strlen(mac));
    const struct last_channel *c = last_channel_find(a, mac, h);
    if (c && c->stream_id == stream_id)
        return; /* a box re-sending its channel writes nothing */
    last_channel_put(a, mac, stream_id);
    /* Persisted (batched, off the loop, to the activity file) so that a
     * restart still opens the box's list at its channel. */
    struct op *o = queue_op(a, OP_LAST_CHANNEL);
    if (o) {
        o->at = now;
        o->line_id = stream_id;
        copy(o->ip, sizeof(o->ip), mac);
    }
}

/* Whether the line's allowed_ips contain addr (compiled once per snapshot). */
static bool line_allows(struct access *a, const struct cat_line *l, const struct ipnet_addr *addr)
{
    uint64_t h = htab_hash_u64((uint64_t)l->id);
    for (struct htab_node *n = htab_first(&a->line_nets, h); n; n = htab_next(n)) {
        struct line_nets *ln = htab_entry(n, struct line_nets, node);
        if (ln->line_id == l->id)
            return ipset_contains(&ln->set, addr);
    }
    size_t cap = 1;
    for (const char *p = l->allowed_ips; *p; p++)
        cap += *p == ',';
    struct ipnet *nets = calloc(cap, sizeof(*nets));
    struct line_nets *ln = calloc(1, sizeof(*ln));
    size_t k = 0;
    for (const char *p = l->allowed_ips; nets && *p;) {
        size_t len = strcspn(p, ",");
        if (k < cap && ipnet_parse(p, len, &nets[k]) == 0)
            k++;
        p += len;
        if (*p)
            p++;
    }
    if (!nets || !ln || ipset_build(&ln->set, nets, k)) {
        free(nets);
        free(ln);
        return ipnet_list_contains(l->allowed_ips, addr); /* out of memory: the slow way */
    }
    free(nets);
    ln->line_id = l->id;
    htab_insert(&a->line_nets, &ln->node, h);
    return ipset_contains(&ln->set, addr);
}

const char *access_check_line(struct access *a, const struct cat_line *l,
                              const struct access_req *r)
{
    bool c_rules = (l->allowed_countries && *l->allowed_countries) ||
                   (l->denied_countries && *l->denied_countries);
    bool ua_rules = (l->denied_uas && *l->denied_uas) || (l->allowed_uas && *l->allowed_uas);
    bool ip_rules = l->allowed_ips && *l->allowed_ips;
    /* Most lines have no rule of their own: nothing to parse or look up. */
    if (!ip_rules && !ua_rules && !c_rules && !l->lock_first_ip && l->max_daily_ips <= 0)
        return NULL;
    struct ipnet_addr addr;
    if (parse_ip(a, r->ip, &addr))
        return NULL;
    if (ip_rules && !line_allows(a, l, &addr))
        return "IP_NOT_ALLOWED";
    const char *ua = r->user_agent ? r->user_agent : "";
    if (l->denied_uas && *l->denied_uas && glob_list_any(l->denied_uas, ua))
        return "UA_BLOCKED";
    if (l->allowed_uas && *l->allowed_uas && !glob_list_any(l->allowed_uas, ua))
        return "UA_BLOCKED";
    if (a->geoip && c_rules) {
        char cc[3];
        country_of(a, r->ip, cc);
        if (l->denied_countries && *l->denied_countries &&
            country_list_has(l->denied_countries, cc))
            return "COUNTRY_BLOCKED";
        if (l->allowed_countries && *l->allowed_countries &&
            !country_list_has(l->allowed_countries, cc))
            return "COUNTRY_BLOCKED";
    }
    if (l->lock_first_ip) {
        struct first_ip *f = first_find(a, l->id);
        struct ipnet_addr first;
        bool have = false;
        if (f && !f->cleared) {
            first = f->ip;
            have = true;
        } else if (!f && l->first_ip &&
                   !ipnet_parse_addr(l->first_ip, strlen(l->first_ip), &first)) {
            have = true;
        }
        if (have && memcmp(&first, &addr, sizeof(addr)) != 0)
            return "IP_LOCKED";
        if (!have) {
            if (!f && !(f = calloc(1, sizeof(*f))))
                return NULL;
            if (!f->line_id) {
                f->line_id = l->id;
                f->next = a->firsts;
                a->firsts = f;
            }
            f->cleared = false;
            f->ip = addr;
            struct op *o = queue_op(a, OP_FIRST_IP);
            f->pending = o != NULL;
            f->seq = a->seq;
            if (o) {
                o->line_id = l->id;
                ipnet_format_addr(&addr, o->ip, sizeof(o->ip));
            }
        }
    }
    if (l->max_daily_ips > 0 && !daily_admit(a, l, &addr, r->now))
        return "TOO_MANY_IPS";
    return NULL;
}

void access_refused(struct access *a, const char *reason, const struct cat_line *l,
                    const struct access_req *r, const char *detail)
{
    a->refusals[reason_index(reason)]++;
    struct op *o = queue_op(a, OP_REFUSAL);
    if (!o)
        return;
    o->at = r->now;
    o->line_id = l ? l->id : 0;
    copy(o->user, sizeof(o->user), l ? l->username : r->username);
    copy(o->ip, sizeof(o->ip), r->ip);
    copy(o->ua, sizeof(o->ua), r->user_agent);
    copy(o->route, sizeof(o->route), r->route);
    copy(o->reason, sizeof(o->reason), reason);
    copy(o->detail, sizeof(o->detail), detail);
}

static void flag_account(struct access *a, const char *username, const struct ipnet_addr *k,
                         int64_t now)
{
    if (a->cfg.flag_ips == 0 || !username || !*username || strlen(username) > 64)
        return;
    uint64_t uh = htab_hash_bytes(1, username, strlen(username));
    struct flag *f = NULL;
    for (size_t i = 0; i < FLAG_SLOTS && !f; i++)
        if (a->flags[i].user_hash == uh && strcmp(a->flags[i].user, username) == 0)
            f = &a->flags[i];
    if (!f) { /* a ring: the account seen longest ago gives its slot */
        f = &a->flags[a->flag_next];
        a->flag_next = (a->flag_next + 1) % FLAG_SLOTS;
        memset(f, 0, sizeof(*f));
        f->user_hash = uh;
        copy(f->user, sizeof(f->user), username);
    }
    uint64_t ih = addr_hash(k);
    for (unsigned i = 0; i < f->n; i++)
        if (f->ips[i] == ih)
            return;
    if (f->n < FLAG_IPS)
        f->ips[f->n++] = ih;
    if (!f->flagged && f->n >= a->cfg.flag_ips) {
        f->flagged = true;
        a->flagged++;
        char user[260];
        log_warn("access", "account \"%s\" flagged: %u addresses failed to log in to it",
                 log_field(user, sizeof(user), username), f->n);
        struct op *o = queue_op(a, OP_FLAG);
        if (o) {
            o->at = now;
            copy(o->user, sizeof(o->user), username);
        }
    }
}

void access_login_failed(struct access *a, const char *ip, const char *username, unsigned fails,
                         int64_t now)
{
    struct ipnet_addr k;
    if (!key_of(ip, &k))
        return;
    flag_account(a, username, &k, now);
    if (a->cfg.ban_after == 0 || fails < a->cfg.ban_after)
        return;
    struct ban *cur = ban_find(a, &k);
    if (cur && cur->until > now)
        return;
    int64_t strikes = (cur ? cur->strikes : 0) + 1;
    int64_t secs = a->cfg.ban_secs;
    for (int64_t i = 1; i < strikes && secs < a->cfg.ban_max_secs; i++)
        secs *= 2;
    if (secs > a->cfg.ban_max_secs)
        secs = a->cfg.ban_max_secs;
    struct ban *b = cur && cur->local ? cur : calloc(1, sizeof(*b));
    if (!b)
        return;
    if (b != cur) {
        b->key = k;
        b->local = true;
        b->next_local = a->local_bans;
        a->local_bans = b;
        htab_insert(&a->bans, &b->node, addr_hash(&k));
    }
    b->until = now + secs;
    b->strikes = strikes;
    b->last_logged = 0;
    a->bans_made++;
    char text[IPNET_TEXT_MAX];
    key_text(&k, text, sizeof(text));
    log_warn("access", "banned %s for %llds (strike %lld) after %u failed logins", text,
             (long long)secs, (long long)strikes, fails);
    struct op *o = queue_op(a, OP_BAN);
    b->pending = o != NULL;
    b->seq = a->seq;
    if (o) {
        o->at = now;
        o->until = b->until;
        o->strikes = strikes;
        copy(o->ip, sizeof(o->ip), text);
        snprintf(o->reason, sizeof(o->reason), "%u failed logins", fails);
    }
}

void access_unban(struct access *a, const char *ip, int64_t now)
{
    struct ipnet net;
    if (!ip || ipnet_parse(ip, strlen(ip), &net))
        return;
    struct ban *cur = ban_find(a, &net.addr);
    struct ban *b = cur && cur->local ? cur : calloc(1, sizeof(*b));
    if (!b)
        return;
    if (b != cur) {
        b->key = net.addr;
        b->local = true;
        b->next_local = a->local_bans;
        a->local_bans = b;
        htab_insert(&a->bans, &b->node, addr_hash(&net.addr));
    }
    b->until = 0; /* lifted: a tombstone until a snapshot without the row */
    b->strikes = 0;
    b->pending = false;
    b->stamp = wall_ms(); /* the database delete committed before this */
    (void)now;
}

void access_line_reset(struct access *a, int64_t line_id, int64_t now)
{
    struct first_ip *f = first_find(a, line_id);
    if (!f && (f = calloc(1, sizeof(*f)))) {
        f->line_id = line_id;
        f->next = a->firsts;
        a->firsts = f;
    }
    if (f) {
        f->cleared = true;
        f->pending = false;
        f->stamp = wall_ms(); /* the database reset committed before this */
    }
    /* The account may be flagged again: forget its failing addresses (its
     * name from the snapshot, then one pass over the flag ring). */
    const struct cat_line *l = a->cat ? catalog_line_by_id(a->cat, line_id) : NULL;
    for (size_t i = 0; l && i < FLAG_SLOTS; i++)
        if (a->flags[i].user_hash && strcmp(a->flags[i].user, l->username) == 0)
            memset(&a->flags[i], 0, sizeof(a->flags[i]));
    /* the day's IPs start afresh too, in the activity file as well */
    struct op *o = queue_op(a, OP_DAILY_RESET);
    if (o) {
        o->at = now / 86400;
        o->line_id = line_id;
    }
    uint64_t h = htab_hash_u64((uint64_t)line_id);
    for (struct htab_node *n = htab_first(&a->daily, h); n; n = htab_next(n)) {
        struct daily *d = htab_entry(n, struct daily, node);
        if (d->line_id == line_id)
            d->n = 0;
    }
}

void access_metrics(struct access *a, struct buf *b)
{
    promtext_family(b, "xtreamd_access_refusals_total", "counter",
                    "Client requests refused by access control, by reason");
    for (int i = 0; i < NREASONS && dom_refusal_reasons[i]; i++)
        buf_printf(b, "xtreamd_access_refusals_total{reason=\"%s\"} %llu\n", dom_refusal_reasons[i],
                   (unsigned long long)a->refusals[i]);
    promtext_family(b, "xtreamd_access_refusal_log_dropped_total", "counter",
                    "Refusals not logged: the writer's queue was full");
    buf_printf(b, "xtreamd_access_refusal_log_dropped_total %llu\n",
               (unsigned long long)a->log_dropped);
    promtext_family(b, "xtreamd_access_refusal_log_quieted_total", "counter",
                    "RATE_LIMITED/BANNED_IP refusals not logged (one row per IP per 10 s)");
    buf_printf(b, "xtreamd_access_refusal_log_quieted_total %llu\n",
               (unsigned long long)a->log_quieted);
    promtext_family(b, "xtreamd_access_rate_ips", "gauge", "IPs in the request-rate table");
    buf_printf(b, "xtreamd_access_rate_ips %zu\n", a->n_buckets);
    promtext_family(b, "xtreamd_access_rate_evictions_total", "counter",
                    "IPs dropped from the full request-rate table (least recently seen)");
    buf_printf(b, "xtreamd_access_rate_evictions_total %llu\n",
               (unsigned long long)a->rate_evictions);
    promtext_family(b, "xtreamd_access_daily_ip_resets_total", "counter",
                    "Times the distinct-IPs-per-day table was full and started afresh");
    buf_printf(b, "xtreamd_access_daily_ip_resets_total %llu\n", (unsigned long long)a->daily_full);
    promtext_family(b, "xtreamd_access_bans_total", "counter",
                    "IP bans decided after failed logins");
    buf_printf(b, "xtreamd_access_bans_total %llu\n", (unsigned long long)a->bans_made);
    promtext_family(b, "xtreamd_access_flagged_accounts_total", "counter",
                    "Accounts flagged because many addresses failed to log in to them");
    buf_printf(b, "xtreamd_access_flagged_accounts_total %llu\n", (unsigned long long)a->flagged);
    promtext_family(b, "xtreamd_access_write_failures_total", "counter",
                    "Batches of refusals/bans the database refused");
    buf_printf(b, "xtreamd_access_write_failures_total %llu\n",
               (unsigned long long)a->write_failures);
    promtext_family(b, "xtreamd_access_forwarded_total", "counter",
                    "Requests whose client address came from a trusted proxy's header");
    buf_printf(b, "xtreamd_access_forwarded_total %llu\n", (unsigned long long)a->forwarded_used);
    promtext_family(b, "xtreamd_access_activity_dropped_total", "counter",
                    "Device-seen, last-channel and daily-address rows not written (the write "
                    "queue was full)");
    buf_printf(b, "xtreamd_access_activity_dropped_total %llu\n",
               (unsigned long long)a->activity_dropped);
    promtext_family(b, "xtreamd_access_last_channels_full_total", "counter",
                    "Boxes whose last channel (itv set_last_id) was not kept in memory: the "
                    "table (max-ips) was full");
    buf_printf(b, "xtreamd_access_last_channels_full_total %llu\n",
               (unsigned long long)a->last_channels_full);
    promtext_family(b, "xtreamd_access_geoip_enabled", "gauge",
                    "1 when a country database is loaded (country rules are on)");
    buf_printf(b, "xtreamd_access_geoip_enabled %d\n", a->geoip ? 1 : 0);
    promtext_family(b, "xtreamd_access_geoip_errors_total", "counter", "Failed country lookups");
    buf_printf(b, "xtreamd_access_geoip_errors_total %llu\n", (unsigned long long)a->geoip_errors);
}
