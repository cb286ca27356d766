/*
 * epg/normalize: channel-name keys for automatic EPG mapping.
 * "BBC One HD", "bbc-one", "BBC ONE (FHD)" all become "bbcone"; "Télé Été"
 * becomes "teleete". Non-Latin letters are kept as they are (a Cyrillic name
 * still matches itself). Owns nothing; pure functions, any thread.
 */
#include <string.h>

#include "xmltv/xmltv.h"

/* Latin-1 supplement U+00C0..U+00FF folded to ASCII ("" = a separator). */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",
};

/* Latin Extended-A U+0100..U+017F as ranges. */
static const struct {
    unsigned lo, hi;
    const char *s;
} latin_ext[] = {
    {0x100, 0x105, "a"}, {0x106, 0x10d, "c"},  {0x10e, 0x111, "d"}, {0x112, 0x11b, "e"},
    {0x11c, 0x123, "g"}, {0x124, 0x127, "h"},  {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
    {0x134, 0x135, "j"}, {0x136, 0x138, "k"},  {0x139, 0x142, "l"}, {0x143, 0x14b, "n"},
    {0x14c, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15a, 0x161, "s"},
    {0x162, 0x167, "t"}, {0x168, 0x173, "u"},  {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
    {0x179, 0x17e, "z"}, {0x17f, 0x17f, "s"},
};

static const char *const quality[] = {
    "hd",  "fhd",  "uhd",   "sd",    "4k",    "8k",   "hevc", "h264", "h265",
    "hdr", "720p", "1080p", "1080i", "2160p", "576p", "576i", "hq",   "50fps",
};

static bool is_quality(const char *t, size_t n)
{
    for (size_t i = 0; i < sizeof(quality) / sizeof(quality[0]); i++)
        if (strlen(quality[i]) == n && memcmp(quality[i], t, n) == 0)
            return true;
    return false;
}

#define MAX_TOKENS 32

size_t epg_normalize_name(const char *name, char *out, size_t outlen)
{
    char tmp[EPG_NAME_KEY];
    size_t tl = 0;
    size_t starts[MAX_TOKENS], ends[MAX_TOKENS], nt = 0;
    bool in_token = false;
    if (!outlen)
        return 0;
    const unsigned char *p = (const unsigned char *)(name ? name : "");
    while (*p && tl + 4 < sizeof(tmp)) {
        const char *fold = NULL;
        char one[5] = {0};
        size_t adv = 1;
        unsigned c = *p;
        if (c < 0x80) {
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                one[0] = (char)c;
                fold = one;
            } else if (c >= 'A' && c <= 'Z') {
                one[0] = (char)(c + 32);
                fold = one;
            }
        } else if ((c & 0xe0) == 0xc0 && (p[1] & 0xc0) == 0x80) {
            unsigned cp = ((c & 0x1f) << 6) | (p[1] & 0x3f);
            adv = 2;
            if (cp >= 0xc0 && cp <= 0xff) {
                fold = latin1[cp - 0xc0];
            } else if (cp >= 0x100 && cp <= 0x17f) {
                for (size_t i = 0; i < sizeof(latin_ext) / sizeof(latin_ext[0]); i++)
                    if (cp >= latin_ext[i].lo && cp <= latin_ext[i].hi)
                        fold = latin_ext[i].s;
            } else if (cp >= 0x300 && cp <= 0x36f) {
                fold = ""; /* combining accent: dropped, token continues */
                if (in_token) {
                    p += adv;
                    continue;
                }
            } else if (cp >= 0x370) {
                /* Greek, Cyrillic...: kept, lower-cased */
                if (cp >= 0x410 && cp <= 0x42f)
                    cp += 0x20;
                else if (cp >= 0x400 && cp <= 0x40f)
                    cp += 0x50;
                else if (cp >= 0x391 && cp <= 0x3a9 && cp != 0x3a2)
                    cp += 0x20;
                one[0] = (char)(0xc0 | (cp >> 6));
                one[1] = (char)(0x80 | (cp & 0x3f));
                fold = one;
            }
        } else if ((c & 0xf0) == 0xe0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
            adv = 3;
            memcpy(one, p, 3);
            fold = one;
        } else if ((c & 0xf8) == 0xf0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
                   (p[3] & 0xc0) == 0x80) {
            adv = 4;
            memcpy(one, p, 4);
            fold = one;
        }
        p += adv;
        if (!fold || !*fold) {
            if (in_token && nt < MAX_TOKENS)
                ends[nt++] = tl;
            else if (in_token)
                break;
            in_token = false;
            continue;
        }
        if (!in_token) {
            if (nt >= MAX_TOKENS)
                break;
            starts[nt] = tl;
            in_token = true;
        }
        size_t fl = strlen(fold);
        memcpy(tmp + tl, fold, fl);
        tl += fl;
    }
    if (in_token && nt < MAX_TOKENS)
        ends[nt++] = tl;
    size_t kept = 0;
    for (size_t i = 0; i < nt; i++)
        if (!is_quality(tmp + starts[i], ends[i] - starts[i]))
            kept++;
    size_t ol = 0;
    for (size_t i = 0; i < nt; i++) {
        size_t n = ends[i] - starts[i];
        if (kept > 0 && is_quality(tmp + starts[i], n))
            continue;
        if (ol + n >= outlen)
            n = outlen - 1 - ol;
        memcpy(out + ol, tmp + starts[i], n);
        ol += n;
        if (ol + 1 >= outlen)
            break;
    }
    /* Never end in the middle of a UTF-8 sequence. */
    size_t cut = ol;
    while (cut > 0 && ((unsigned char)out[cut - 1] & 0xc0) == 0x80)
        cut--;
    if (cut > 0 && ((unsigned char)out[cut - 1] & 0x80)) {
        unsigned char lead = (unsigned char)out[cut - 1];
        size_t need = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
        if (ol - (cut - 1) < need)
            ol = cut - 1;
    }
    out[ol] = '\0';
    return ol;
}

size_t epg_normalize_id(const char *id, char *out, size_t outlen)
{
    char head[EPG_NAME_KEY];
    size_t n = 0;
    while (id[n] && id[n] != '.' && n + 1 < sizeof(head)) {
        head[n] = id[n];
        n++;
    }
    head[n] = '\0';
    return epg_normalize_name(head, out, outlen);
}
