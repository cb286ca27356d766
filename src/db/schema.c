#include "db/schema.h"

/* Conventions: times are Unix seconds (UTC) in INTEGER columns; booleans are
 * INTEGER 0/1 with a CHECK; "position"/"sort_order" give the operator's order;
 * every table is STRICT and foreign keys are enforced (PRAGMA foreign_keys=ON). */
static const char migration_1[] =
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") STRICT;"

    "CREATE TABLE categories ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('live','movie','series')),"
    "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),"
    "  parent_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,"
    "  sort_order INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (kind, name)"
    ") STRICT;"

    "CREATE TABLE transcode_profiles ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  video_codec TEXT NOT NULL DEFAULT 'copy',"
    "  audio_codec TEXT NOT NULL DEFAULT 'copy',"
    "  video_bitrate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  audio_bitrate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  width INTEGER NOT NULL DEFAULT 0,"
    "  height INTEGER NOT NULL DEFAULT 0,"
    "  extra_args TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE servers ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  public_url TEXT NOT NULL DEFAULT '',"
    "  internal_url TEXT NOT NULL DEFAULT '',"
    "  is_main INTEGER NOT NULL DEFAULT 0 CHECK (is_main IN (0,1)),"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),"
    "  max_clients INTEGER NOT NULL DEFAULT 0,"
    "  weight INTEGER NOT NULL DEFAULT 1,"
    "  last_seen INTEGER,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    /* Live channels. Sources live in stream_sources, in priority order. */
    "CREATE TABLE streams ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 500),"
    "  category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,"
    "  stream_type TEXT NOT NULL DEFAULT 'live'"
    "    CHECK (stream_type IN ('live','created_live','radio_streams')),"
    "  epg_channel_id TEXT,"
    /* Automatic EPG mapping (epg/map.c): the guide id matched by name, used
     * only while epg_channel_id is empty; kept across playlist re-imports. */
    "  epg_auto_id TEXT,"
    "  logo TEXT NOT NULL DEFAULT '',"
    "  custom_sid TEXT NOT NULL DEFAULT '',"
    "  direct_source INTEGER NOT NULL DEFAULT 0 CHECK (direct_source IN (0,1)),"
    "  always_on INTEGER NOT NULL DEFAULT 0 CHECK (always_on IN (0,1)),"
    "  transcode_profile_id INTEGER REFERENCES transcode_profiles(id) ON DELETE SET NULL,"
    "  tv_archive_days INTEGER NOT NULL DEFAULT 0 CHECK (tv_archive_days >= 0),"
    "  is_adult INTEGER NOT NULL DEFAULT 0 CHECK (is_adult IN (0,1)),"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),"
    "  sort_order INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX streams_category ON streams(category_id);"

    "CREATE TABLE stream_sources ("
    "  stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 4096),"
    "  PRIMARY KEY (stream_id, position)"
    ") STRICT;"
    "CREATE INDEX stream_sources_url ON stream_sources(url);"

    /* Movies: `source` is a local file path or an http(s) URL. Probe results are
     * kept both as columns (for the API) and raw (probe_json, for diagnostics). */
    "CREATE TABLE movies ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),"
    "  original_title TEXT NOT NULL DEFAULT '',"
    "  year INTEGER,"
    "  category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,"
    "  source TEXT NOT NULL,"
    "  container TEXT NOT NULL DEFAULT 'mp4',"
    "  poster TEXT NOT NULL DEFAULT '',"
    "  backdrop TEXT NOT NULL DEFAULT '',"
    "  poster_file TEXT NOT NULL DEFAULT ''," /* local artwork found by a library scan */
    "  backdrop_file TEXT NOT NULL DEFAULT '',"
    "  library_root TEXT NOT NULL DEFAULT ''," /* canonical root of the scan that found it */
    "  languages TEXT NOT NULL DEFAULT '',"    /* audio languages, comma-separated */
    "  plot TEXT NOT NULL DEFAULT '',"
    "  cast_names TEXT NOT NULL DEFAULT '',"
    "  director TEXT NOT NULL DEFAULT '',"
    "  genre TEXT NOT NULL DEFAULT '',"
    "  country TEXT NOT NULL DEFAULT '',"
    "  release_date TEXT NOT NULL DEFAULT '',"
    "  youtube_trailer TEXT NOT NULL DEFAULT '',"
    "  mpaa_rating TEXT NOT NULL DEFAULT '',"
    "  rating REAL NOT NULL DEFAULT 0,"
    "  tmdb_id INTEGER NOT NULL DEFAULT 0,"
    "  duration_secs INTEGER NOT NULL DEFAULT 0,"
    "  bitrate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  video_json TEXT NOT NULL DEFAULT '',"
    "  audio_json TEXT NOT NULL DEFAULT '',"
    "  probe_json TEXT NOT NULL DEFAULT '',"
    "  file_size INTEGER NOT NULL DEFAULT 0,"
    "  file_mtime INTEGER NOT NULL DEFAULT 0,"
    "  available INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0,1)),"
    "  custom_sid TEXT NOT NULL DEFAULT '',"
    "  direct_source INTEGER NOT NULL DEFAULT 0 CHECK (direct_source IN (0,1)),"
    "  sort_order INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL,"
    "  UNIQUE (source)"
    ") STRICT;"
    "CREATE INDEX movies_category ON movies(category_id);"

    "CREATE TABLE series ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 500),"
    "  year INTEGER,"
    "  category_id INTEGER REFERENCES categories(id) ON DELETE SET NULL,"
    "  folder TEXT NOT NULL DEFAULT '',"
    "  cover TEXT NOT NULL DEFAULT '',"
    "  backdrop TEXT NOT NULL DEFAULT '',"
    "  cover_file TEXT NOT NULL DEFAULT '',"
    "  backdrop_file TEXT NOT NULL DEFAULT '',"
    "  plot TEXT NOT NULL DEFAULT '',"
    "  cast_names TEXT NOT NULL DEFAULT '',"
    "  director TEXT NOT NULL DEFAULT '',"
    "  genre TEXT NOT NULL DEFAULT '',"
    "  release_date TEXT NOT NULL DEFAULT '',"
    "  youtube_trailer TEXT NOT NULL DEFAULT '',"
    "  rating REAL NOT NULL DEFAULT 0,"
    "  tmdb_id INTEGER NOT NULL DEFAULT 0,"
    "  episode_run_time INTEGER NOT NULL DEFAULT 0,"
    "  sort_order INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL,"
    "  last_modified INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE seasons ("
    "  id INTEGER PRIMARY KEY,"
    "  series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
    "  season_number INTEGER NOT NULL CHECK (season_number >= 0),"
    "  name TEXT NOT NULL DEFAULT '',"
    "  overview TEXT NOT NULL DEFAULT '',"
    "  air_date TEXT NOT NULL DEFAULT '',"
    "  cover TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (series_id, season_number)"
    ") STRICT;"

    "CREATE TABLE episodes ("
    "  id INTEGER PRIMARY KEY,"
    "  series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,"
    "  season_number INTEGER NOT NULL CHECK (season_number >= 0),"
    "  episode_num INTEGER NOT NULL CHECK (episode_num >= 0),"
    "  title TEXT NOT NULL DEFAULT '',"
    "  source TEXT NOT NULL,"
    "  container TEXT NOT NULL DEFAULT 'mp4',"
    "  plot TEXT NOT NULL DEFAULT '',"
    "  release_date TEXT NOT NULL DEFAULT '',"
    "  image TEXT NOT NULL DEFAULT '',"
    "  image_file TEXT NOT NULL DEFAULT '',"
    "  library_root TEXT NOT NULL DEFAULT '',"
    "  languages TEXT NOT NULL DEFAULT '',"
    "  rating REAL NOT NULL DEFAULT 0,"
    "  tmdb_id INTEGER NOT NULL DEFAULT 0,"
    "  duration_secs INTEGER NOT NULL DEFAULT 0,"
    "  bitrate_kbps INTEGER NOT NULL DEFAULT 0,"
    "  video_json TEXT NOT NULL DEFAULT '',"
    "  audio_json TEXT NOT NULL DEFAULT '',"
    "  probe_json TEXT NOT NULL DEFAULT '',"
    "  file_size INTEGER NOT NULL DEFAULT 0,"
    "  file_mtime INTEGER NOT NULL DEFAULT 0,"
    "  available INTEGER NOT NULL DEFAULT 1 CHECK (available IN (0,1)),"
    "  custom_sid TEXT NOT NULL DEFAULT '',"
    "  direct_source INTEGER NOT NULL DEFAULT 0 CHECK (direct_source IN (0,1)),"
    "  added INTEGER NOT NULL,"
    "  UNIQUE (source)"
    ") STRICT;"
    "CREATE INDEX episodes_series ON episodes(series_id, season_number, episode_num);"
    "CREATE INDEX series_folder ON series(folder);"

    /* A bouquet item is a whole kind ('all'), a category, or one title. */
    "CREATE TABLE bouquets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),"
    "  sort_order INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE bouquet_items ("
    "  id INTEGER PRIMARY KEY,"
    "  bouquet_id INTEGER NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('all','category','live','movie','series')),"
    "  item_id INTEGER,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  CHECK ((kind = 'all') = (item_id IS NULL)),"
    "  UNIQUE (bouquet_id, kind, item_id)"
    ") STRICT;"

    /* Operators: admins and resellers. Passwords are argon2id hashes. */
    "CREATE TABLE admins ("
    "  id INTEGER PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  role TEXT NOT NULL CHECK (role IN ('admin','reseller')),"
    "  parent_id INTEGER REFERENCES admins(id) ON DELETE SET NULL,"
    "  credits INTEGER NOT NULL DEFAULT 0,"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE credits_log ("
    "  id INTEGER PRIMARY KEY,"
    "  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,"
    "  actor_id INTEGER REFERENCES admins(id) ON DELETE SET NULL,"
    "  delta INTEGER NOT NULL,"
    "  balance INTEGER NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  line_id INTEGER,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    /* Subscriber lines. The password is stored as given: the Xtream API echoes it
     * to clients and puts it in every stream URL, so it cannot be hashed. */
    "CREATE TABLE lines ("
    "  id INTEGER PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),"
    "  password TEXT NOT NULL CHECK (length(password) BETWEEN 1 AND 64),"
    "  max_connections INTEGER NOT NULL DEFAULT 1 CHECK (max_connections >= 0),"
    "  exp_date INTEGER,"
    "  is_trial INTEGER NOT NULL DEFAULT 0 CHECK (is_trial IN (0,1)),"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),"
    "  banned INTEGER NOT NULL DEFAULT 0 CHECK (banned IN (0,1)),"
    "  allowed_outputs TEXT NOT NULL DEFAULT 'ts,m3u8',"
    "  message TEXT NOT NULL DEFAULT '',"
    "  allowed_ips TEXT NOT NULL DEFAULT '',"
    "  allowed_uas TEXT NOT NULL DEFAULT '',"
    "  is_mag INTEGER NOT NULL DEFAULT 0 CHECK (is_mag IN (0,1)),"
    "  reseller_id INTEGER REFERENCES admins(id) ON DELETE SET NULL,"
    "  notes TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE line_bouquets ("
    "  line_id INTEGER NOT NULL REFERENCES lines(id) ON DELETE CASCADE,"
    "  bouquet_id INTEGER NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (line_id, bouquet_id)"
    ") STRICT;"

    /* MAG / Enigma2 set-top boxes bound to a line by MAC address. */
    "CREATE TABLE devices ("
    "  id INTEGER PRIMARY KEY,"
    "  line_id INTEGER NOT NULL REFERENCES lines(id) ON DELETE CASCADE,"
    "  mac TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL DEFAULT 'mag' CHECK (kind IN ('mag','enigma2')),"
    "  serial TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  token TEXT NOT NULL DEFAULT '',"
    "  last_seen INTEGER,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    /* EPG (db/epg.c). A source is an XMLTV file or URL; each import bumps
     * gen and replaces what the document covers. Times are UTC Unix seconds. */
    "CREATE TABLE epg_sources ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),"
    "  url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 4096),"
    "  priority INTEGER NOT NULL DEFAULT 0,"
    "  refresh_hours INTEGER NOT NULL DEFAULT 24 CHECK (refresh_hours >= 0),"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),"
    "  gen INTEGER NOT NULL DEFAULT 0,"
    "  last_import INTEGER,"
    "  last_attempt INTEGER,"
    "  last_status TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"

    "CREATE TABLE epg_channels ("
    "  id INTEGER PRIMARY KEY,"
    "  source_id INTEGER NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE,"
    "  channel_id TEXT NOT NULL,"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  name_key TEXT NOT NULL DEFAULT '',"
    "  id_key TEXT NOT NULL DEFAULT '',"
    "  icon TEXT NOT NULL DEFAULT '',"
    "  gen INTEGER NOT NULL DEFAULT 0,"
    "  programmes INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (source_id, channel_id)"
    ") STRICT;"
    "CREATE INDEX epg_channels_channel ON epg_channels(channel_id);"

    "CREATE TABLE epg_programmes ("
    "  id INTEGER PRIMARY KEY,"
    "  channel INTEGER NOT NULL REFERENCES epg_channels(id) ON DELETE CASCADE,"
    "  start INTEGER NOT NULL,"
    "  stop INTEGER NOT NULL,"
    "  gen INTEGER NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  sub_title TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  category TEXT NOT NULL DEFAULT '',"
    "  episode_num TEXT NOT NULL DEFAULT '',"
    "  icon TEXT NOT NULL DEFAULT '',"
    "  lang TEXT NOT NULL DEFAULT '',"
    "  rating TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE UNIQUE INDEX epg_programmes_channel ON epg_programmes(channel, start);"

    /* Finished viewer connections, written in batches by the server. */
    "CREATE TABLE connection_history ("
    "  id INTEGER PRIMARY KEY,"
    "  line_id INTEGER REFERENCES lines(id) ON DELETE SET NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('live','movie','episode','timeshift')),"
    "  item_id INTEGER NOT NULL,"
    "  ip TEXT NOT NULL,"
    "  user_agent TEXT NOT NULL DEFAULT '',"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL DEFAULT 0"
    ") STRICT;";

/* Library roots: the canonical folders local movies and episodes must lie
 * under to be imported and delivered (vod scan / series scan / demo add
 * theirs; `xtreamd vod root add` any other). Seeded from the roots of the
 * scans made before the table existed. */
static const char migration_2[] =
    "CREATE TABLE library_roots ("
    "  path TEXT PRIMARY KEY CHECK (substr(path, 1, 1) = '/' AND length(path) <= 4096),"
    "  added INTEGER NOT NULL"
    ") STRICT;"
    "INSERT OR IGNORE INTO library_roots (path, added)"
    "  SELECT DISTINCT library_root, CAST(strftime('%s','now') AS INTEGER) FROM movies"
    "  WHERE substr(library_root, 1, 1) = '/'"
    "  UNION SELECT DISTINCT library_root, CAST(strftime('%s','now') AS INTEGER) FROM episodes"
    "  WHERE substr(library_root, 1, 1) = '/';";

/* Admin accounts (db/admins.c, domain/admins.c): argon2id hashes in the
 * libsodium string format; roles admin (everything) and viewer (read-only),
 * disabled, updated_at and last_login_at. Replaces migration 1's placeholder
 * `admins` (roles admin/reseller, never written by any command): its rows, if
 * any, are kept, a reseller becoming a disabled viewer (least privilege). The
 * references of lines.reseller_id and credits_log name the table, so they
 * follow the rename. */
static const char migration_3[] =
    "CREATE TABLE admins_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  username TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),"
    "  password_hash TEXT NOT NULL,"
    "  role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin','viewer')),"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0,1)),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  last_login_at INTEGER"
    ") STRICT;"
    "INSERT OR IGNORE INTO admins_v3 (id, username, password_hash, role, disabled, created_at,"
    "  updated_at)"
    "  SELECT id, username, password_hash, CASE role WHEN 'admin' THEN 'admin' ELSE 'viewer' END,"
    "  CASE WHEN role = 'admin' AND enabled = 1 THEN 0 ELSE 1 END, created_at, created_at"
    "  FROM admins;"
    "DROP TABLE admins;"
    "ALTER TABLE admins_v3 RENAME TO admins;";

/* Admin API authentication and the audit log (db/admin_auth.c,
 * domain/admin_auth.c): sessions and API tokens are stored as SHA-256 hashes
 * of the secrets, never the secrets; the audit log keeps the username of an
 * account that is later deleted. */
static const char migration_4[] =
    "CREATE TABLE admin_sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,"
    "  csrf TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  ip TEXT NOT NULL DEFAULT '',"
    "  user_agent TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);"
    "CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);"
    "CREATE TABLE api_tokens ("
    "  id INTEGER PRIMARY KEY,"
    "  admin_id INTEGER NOT NULL REFERENCES admins(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  scopes TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER,"
    "  last_used_at INTEGER,"
    "  last_used_ip TEXT,"
    "  revoked_at INTEGER"
    ") STRICT;"
    "CREATE INDEX api_tokens_admin ON api_tokens(admin_id);"
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  admin_id INTEGER REFERENCES admins(id) ON DELETE SET NULL,"
    "  admin_username TEXT NOT NULL,"
    "  token_id INTEGER,"
    "  ip TEXT NOT NULL DEFAULT '',"
    "  action TEXT NOT NULL,"
    "  entity TEXT NOT NULL,"
    "  entity_id INTEGER,"
    "  before TEXT,"
    "  after TEXT"
    ") STRICT;"
    "CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);"
    "CREATE INDEX audit_log_admin ON audit_log(admin_id);";

/* Lines and plans for the admin API (db/lines.c db_line_page,
 * db/plans.c): indexes for the list's sort keys and filters (100,000 lines,
 * a page with its total in < 50 ms), and plans ("packages": what a line
 * created from one gets). exp_date's index puts NULL (never) last, as the
 * list's sort does. A plan has at most one of duration_days,
 * duration_months and trial_hours (none: its lines never expire);
 * trial_hours only on a trial plan. plan_bouquets keeps the plan's order. */
static const char migration_5[] =
    "CREATE INDEX lines_exp_date ON lines(exp_date IS NULL, exp_date);"
    "CREATE INDEX lines_created_at ON lines(created_at);"
    "CREATE INDEX lines_updated_at ON lines(updated_at);"
    "CREATE INDEX lines_max_connections ON lines(max_connections);"
    "CREATE INDEX line_bouquets_bouquet ON line_bouquets(bouquet_id, line_id);"
    /* The list's q (a substring of username or notes): a trigram index kept
     * by triggers, so a search of 3+ characters does not scan every line. */
    "CREATE VIRTUAL TABLE lines_search USING fts5(username, notes, content='lines',"
    "  content_rowid='id', tokenize='trigram');"
    "INSERT INTO lines_search(lines_search) VALUES ('rebuild');"
    "CREATE TRIGGER lines_search_ai AFTER INSERT ON lines BEGIN"
    "  INSERT INTO lines_search(rowid, username, notes) VALUES (new.id, new.username, new.notes);"
    "END;"
    "CREATE TRIGGER lines_search_ad AFTER DELETE ON lines BEGIN"
    "  INSERT INTO lines_search(lines_search, rowid, username, notes)"
    "  VALUES ('delete', old.id, old.username, old.notes);"
    "END;"
    "CREATE TRIGGER lines_search_au AFTER UPDATE OF username, notes ON lines BEGIN"
    "  INSERT INTO lines_search(lines_search, rowid, username, notes)"
    "  VALUES ('delete', old.id, old.username, old.notes);"
    "  INSERT INTO lines_search(rowid, username, notes) VALUES (new.id, new.username, new.notes);"
    "END;"
    "CREATE TABLE plans ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),"
    "  duration_days INTEGER CHECK (duration_days > 0),"
    "  duration_months INTEGER CHECK (duration_months > 0),"
    "  trial_hours INTEGER CHECK (trial_hours > 0),"
    "  max_connections INTEGER NOT NULL DEFAULT 1 CHECK (max_connections >= 0),"
    "  allowed_outputs TEXT NOT NULL DEFAULT 'ts,m3u8',"
    "  is_trial INTEGER NOT NULL DEFAULT 0 CHECK (is_trial IN (0,1)),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  CHECK ((duration_days IS NOT NULL) + (duration_months IS NOT NULL)"
    "    + (trial_hours IS NOT NULL) <= 1),"
    "  CHECK (trial_hours IS NULL OR is_trial = 1)"
    ") STRICT;"
    "CREATE TABLE plan_bouquets ("
    "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    "  bouquet_id INTEGER NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (plan_id, bouquet_id)"
    ") STRICT;"
    "CREATE INDEX plan_bouquets_bouquet ON plan_bouquets(bouquet_id);";

/* Migration 6 (i10-content; reserved number: 4 and 5 belong to other
 * branches; when migration_5 (i10-lines) merges it goes before this one). Indexes for the admin
 * API's lists: sorting 50,000 channels by name for a deep page must walk an
 * index, not sort every row; the order columns serve the default sorts. */
static const char migration_6[] = "CREATE INDEX streams_name ON streams(name);"
                                  "CREATE INDEX streams_order ON streams(sort_order);"
                                  "CREATE INDEX movies_title ON movies(title);"
                                  "CREATE INDEX series_title ON series(title);";

/* Migration 7: the lines' state columns as one covering index, so that
 * counting a status (the admin API's status filter) reads a narrow index
 * instead of every wide row; db_line_page counts "active" as all lines minus
 * the other states, each an index range over the (usually few) inactive. */
static const char migration_7[] = "CREATE INDEX lines_state ON lines(banned, enabled, exp_date);";

/* Migration 8 (issue 13, access control). Per-line rules on the line
 * (allowed_ips and allowed_uas existed unused since migration 1; the lists
 * are stored canonical: addresses comma-separated, user-agent globs and
 * countries as the domain writes them), the first address of a locked line,
 * the brute-force flag; the global rules; persisted IP bans (a row outlives
 * its ban so the next one is longer: strikes). The refusal log is not here
 * but in <data>/refusals.db (db/access.c): its batched writes must not move
 * this database's change counter, which rebuilds the catalogue. */
static const char migration_8[] =
    "ALTER TABLE lines ADD COLUMN lock_first_ip INTEGER NOT NULL DEFAULT 0"
    "  CHECK (lock_first_ip IN (0,1));"
    "ALTER TABLE lines ADD COLUMN first_ip TEXT;"
    "ALTER TABLE lines ADD COLUMN max_daily_ips INTEGER NOT NULL DEFAULT 0"
    "  CHECK (max_daily_ips >= 0);"
    "ALTER TABLE lines ADD COLUMN denied_uas TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE lines ADD COLUMN allowed_countries TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE lines ADD COLUMN denied_countries TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE lines ADD COLUMN attack_flagged_at INTEGER;"
    "CREATE TABLE access_rules ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('ip_deny','trusted_proxy','ua_allow','ua_deny',"
    "    'country_allow','country_deny')),"
    "  value TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 255),"
    "  note TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (kind, value)"
    ") STRICT;"
    "CREATE TABLE ip_bans ("
    "  ip TEXT PRIMARY KEY,"
    "  until INTEGER NOT NULL,"
    "  strikes INTEGER NOT NULL DEFAULT 1 CHECK (strikes >= 1),"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;";

/* Migration 9 (i14-transcode): transcode profiles become typed (media/profile.h
 * has the rules; these CHECKs back up the enumerations). The placeholder table
 * of migration 1 is extended in place so streams.transcode_profile_id keeps
 * its foreign key. A stream with no profile (NULL) is copied as it comes. */
static const char migration_9[] =
    "ALTER TABLE transcode_profiles ADD COLUMN hw_backend TEXT NOT NULL DEFAULT 'none'"
    "  CHECK (hw_backend IN ('none','vaapi','nvenc','qsv'));"
    "ALTER TABLE transcode_profiles ADD COLUMN rate_control TEXT NOT NULL DEFAULT 'vbr'"
    "  CHECK (rate_control IN ('cbr','vbr'));"
    "ALTER TABLE transcode_profiles ADD COLUMN maxrate_kbps INTEGER NOT NULL DEFAULT 0"
    "  CHECK (maxrate_kbps >= 0);"
    "ALTER TABLE transcode_profiles ADD COLUMN bufsize_kbps INTEGER NOT NULL DEFAULT 0"
    "  CHECK (bufsize_kbps >= 0);"
    "ALTER TABLE transcode_profiles ADD COLUMN gop_seconds INTEGER NOT NULL DEFAULT 2"
    "  CHECK (gop_seconds BETWEEN 1 AND 20);"
    "ALTER TABLE transcode_profiles ADD COLUMN fps INTEGER NOT NULL DEFAULT 0"
    "  CHECK (fps BETWEEN 0 AND 120);"
    "ALTER TABLE transcode_profiles ADD COLUMN deinterlace INTEGER NOT NULL DEFAULT 0"
    "  CHECK (deinterlace IN (0,1));"
    "ALTER TABLE transcode_profiles ADD COLUMN audio_channels INTEGER NOT NULL DEFAULT 0"
    "  CHECK (audio_channels BETWEEN 0 AND 8);"
    "ALTER TABLE transcode_profiles ADD COLUMN logo TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE transcode_profiles ADD COLUMN logo_position TEXT NOT NULL DEFAULT 'tr'"
    "  CHECK (logo_position IN ('tl','tr','bl','br'));"
    "ALTER TABLE transcode_profiles ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX streams_transcode_profile ON streams(transcode_profile_id);";

/* Migration 12: the catalogue content's epoch and the lines' change log. Every insert, update or
 * delete in a table the snapshot's content part is read from (db/catalog_load.c: everything but the
 * lines, the access tables, the devices and the settings) moves catalog_epochs('content'), so that
 * a rebuild for anything else (a line created by the admin API, a ban) shares the previous
 * snapshot's content instead of reading 50,000 channels again. It starts at a random value: a
 * database restored from elsewhere never matches a snapshot's epoch by chance. test_catalog's
 * test_content_epoch_covers_tables fails when a table is neither covered here nor listed as outside
 * the content. */
#define CONTENT_EPOCH_BUMP "UPDATE catalog_epochs SET n = n + 1 WHERE part = 'content';"
#define CONTENT_EPOCH_TRIGGERS(t)                                                                  \
    "CREATE TRIGGER " t "_epoch_ai AFTER INSERT ON " t " BEGIN " CONTENT_EPOCH_BUMP " END;"        \
    "CREATE TRIGGER " t "_epoch_au AFTER UPDATE ON " t " BEGIN " CONTENT_EPOCH_BUMP " END;"        \
    "CREATE TRIGGER " t "_epoch_ad AFTER DELETE ON " t " BEGIN " CONTENT_EPOCH_BUMP " END;"
static const char migration_12[] =
    "CREATE TABLE catalog_epochs ("
    "  part TEXT PRIMARY KEY,"
    "  n INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO catalog_epochs (part, n) VALUES ('content', abs(random() % 1000000000000));"
    // clang-format off
    CONTENT_EPOCH_TRIGGERS("categories")
    CONTENT_EPOCH_TRIGGERS("streams")
    CONTENT_EPOCH_TRIGGERS("stream_sources")
    CONTENT_EPOCH_TRIGGERS("movies")
    CONTENT_EPOCH_TRIGGERS("series")
    CONTENT_EPOCH_TRIGGERS("seasons")
    CONTENT_EPOCH_TRIGGERS("episodes")
    CONTENT_EPOCH_TRIGGERS("bouquets")
    CONTENT_EPOCH_TRIGGERS("bouquet_items")
    // clang-format on
    /* the transcoding profiles: each stream carries its profile (cat_stream.profile) */
    CONTENT_EPOCH_TRIGGERS("transcode_profiles")
    /* The lines' change log: a row per insert, update or delete of a line or
     * of its bouquets, so that a rebuild re-reads only the lines changed since
     * its predecessor (db/catalog_load.c). AUTOINCREMENT: a seq is never
     * reused, so "no row between the predecessor's seq and the oldest kept"
     * proves nothing was pruned in between. The newest 100,000 are kept
     * (pruned every 1,000th insert); an older predecessor reads every line. */
    "CREATE TABLE line_changes ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  line_id INTEGER NOT NULL"
    ") STRICT;"
    /* a random start: a database from elsewhere never matches a snapshot's seq */
    "INSERT INTO sqlite_sequence (name, seq) VALUES ('line_changes',"
    "  abs(random() % 1000000000000));"
    "CREATE TRIGGER line_changes_prune AFTER INSERT ON line_changes WHEN NEW.seq % 1000 = 0"
    " BEGIN DELETE FROM line_changes WHERE seq <= NEW.seq - 100000; END;"
    "CREATE TRIGGER lines_change_ai AFTER INSERT ON lines"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (NEW.id); END;"
    "CREATE TRIGGER lines_change_au AFTER UPDATE ON lines"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (NEW.id); END;"
    "CREATE TRIGGER lines_change_ad AFTER DELETE ON lines"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (OLD.id); END;"
    "CREATE TRIGGER line_bouquets_change_ai AFTER INSERT ON line_bouquets"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (NEW.line_id); END;"
    "CREATE TRIGGER line_bouquets_change_au AFTER UPDATE ON line_bouquets"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (NEW.line_id), (OLD.line_id); END;"
    "CREATE TRIGGER line_bouquets_change_ad AFTER DELETE ON line_bouquets"
    " BEGIN INSERT INTO line_changes (line_id) VALUES (OLD.line_id); END;";

/* Migration 13 (i14-abr): a transcode profile may be an adaptive-bitrate
 * ladder. Its renditions as text, "WxH:KBPS[:MAXKBPS],..." top first ('' =
 * a single output); media/profile.c parses and validates them
 * (tx_renditions_parse, tx_profile_validate). */
static const char migration_13[] =
    "ALTER TABLE transcode_profiles ADD COLUMN renditions TEXT NOT NULL DEFAULT ''"
    "  CHECK (length(renditions) <= 200);";

/* Migration 14 (i16-nodes, issue 16): the nodes of a cluster. Cluster code runs only on
 * PostgreSQL; the tables exist on SQLite too so both schemas stay the same. nodes: one row per
 * enrolled node (state and caps are set by the admin; pubkey = base64 Ed25519 node key).
 * node_status: each node upserts its own row every 2 s; seen_at (Unix s) and seen_at_ms
 * (Unix ms) come from the DATABASE's clock, so ages never depend on a node's clock;
 * db_now_skew_ms = the node's clock minus the database's. node_enrol_codes: one-time codes,
 * stored as a hex SHA-256 hash, name '' = any name. No change-notify trigger on these tables on
 * PostgreSQL: a heartbeat every 2 s must not rebuild every node's catalogue. */
static const char migration_14[] =
    "CREATE TABLE nodes ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),"
    "  role TEXT NOT NULL CHECK (role IN ('main','edge')),"
    "  public_url TEXT NOT NULL CHECK (length(public_url) BETWEEN 1 AND 255),"
    "  state TEXT NOT NULL DEFAULT 'active'"
    "    CHECK (state IN ('active','draining','fenced','revoked')),"
    "  max_sessions INTEGER NOT NULL DEFAULT 0 CHECK (max_sessions >= 0),"
    "  max_egress_mbps INTEGER NOT NULL DEFAULT 0 CHECK (max_egress_mbps >= 0),"
    "  weight INTEGER NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 10000),"
    "  countries TEXT NOT NULL DEFAULT '' CHECK (length(countries) <= 63),"
    "  geo_mode TEXT NOT NULL DEFAULT 'prefer' CHECK (geo_mode IN ('prefer','strict','avoid')),"
    "  pubkey TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  enrolled_at INTEGER,"
    "  version TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE TABLE node_status ("
    "  node_id INTEGER PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,"
    "  seen_at INTEGER NOT NULL,"
    "  seen_at_ms INTEGER NOT NULL,"
    "  db_now_skew_ms INTEGER NOT NULL DEFAULT 0,"
    "  sessions INTEGER NOT NULL DEFAULT 0,"
    "  egress_bps INTEGER NOT NULL DEFAULT 0,"
    "  ingress_bps INTEGER NOT NULL DEFAULT 0,"
    "  cpu_pct REAL NOT NULL DEFAULT 0,"
    "  mem_bytes INTEGER NOT NULL DEFAULT 0,"
    "  channels_running INTEGER NOT NULL DEFAULT 0,"
    "  seq INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE TABLE node_enrol_codes ("
    "  code_hash TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  created_by TEXT NOT NULL DEFAULT ''"
    ") STRICT;";

/* Migration 15 (i16-admit): the viewer sessions of a cluster (issue 16 item 4,
 * docs/internals/cluster.md "Admission and tokens"). One row per stream start
 * the main admitted, on whichever node serves it; a line's active rows are
 * what its max_connections counts across the cluster. Times are Unix seconds
 * of the main's clock; an HLS row stays active while its last_seen_at is
 * recent (the serving node reports it in batches). No trigger: a session
 * change is not a catalogue change. */
#define CLUSTER_SESSIONS_TABLE(idtype)                                                             \
    "CREATE TABLE cluster_sessions ("                                                              \
    "  id TEXT PRIMARY KEY CHECK (length(id) = 32),"                                               \
    "  line_id " idtype " NOT NULL,"                                                               \
    "  stream_id " idtype " NOT NULL,"                                                             \
    "  kind TEXT NOT NULL CHECK (kind IN ('live', 'hls', 'movie', 'episode', 'timeshift')),"       \
    "  node_id " idtype " NOT NULL,"                                                               \
    "  ip TEXT NOT NULL DEFAULT '' CHECK (length(ip) <= 64),"                                      \
    "  user_agent TEXT NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),"                     \
    "  started_at " idtype " NOT NULL,"                                                            \
    "  last_seen_at " idtype " NOT NULL,"                                                          \
    "  ended_at " idtype ","                                                                       \
    "  end_reason TEXT"                                                                            \
    ")"
#define CLUSTER_SESSIONS_INDEXES                                                                   \
    "CREATE INDEX cluster_sessions_line ON cluster_sessions (line_id, started_at)"                 \
    "  WHERE ended_at IS NULL;"                                                                    \
    "CREATE INDEX cluster_sessions_node ON cluster_sessions (node_id) WHERE ended_at IS NULL;"
// clang-format off
static const char migration_15[] = CLUSTER_SESSIONS_TABLE("INTEGER") " STRICT;" CLUSTER_SESSIONS_INDEXES;

/* Migration 16 (i16-edge, issue 16): where a channel runs in a cluster. A stream with no row
 * runs on any node, on demand; with rows, only on the nodes named (mode 'always': kept running
 * there). parent_node_id: that node pulls the channel from the parent's /cluster/origin/ID.ts
 * instead of from the stream's sources (origin–edge: a source is pulled once per cluster). A
 * change is a content change (the live engine reads placements from the catalogue snapshot). */
static const char migration_16[] =
    "CREATE TABLE stream_placements ("
    "  stream_id INTEGER NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
    "  node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
    "  mode TEXT NOT NULL DEFAULT 'on_demand' CHECK (mode IN ('always','on_demand')),"
    "  parent_node_id INTEGER REFERENCES nodes(id) ON DELETE SET NULL"
    "    CHECK (parent_node_id IS NULL OR parent_node_id <> node_id),"
    "  PRIMARY KEY (stream_id, node_id)"
    ") STRICT;"
    // clang-format off
    CONTENT_EPOCH_TRIGGERS("stream_placements");
// clang-format on

/* Migration 17 (i16-pgsuite): nothing on SQLite; on PostgreSQL the content
 * epoch moves once per transaction (pg_migration_15). */
static const char migration_17[] = "SELECT 1;";

/* Migration 18 (issue 17, resellers and credits; db/resellers.c, domain/resellers.c,
 * domain/credits.c). A reseller is an admin account with role 'reseller' and a row in
 * `resellers`: its place in the tree (parent_id, and the materialised path '/1/5/9/' whose
 * prefix test `path LIKE ancestor.path || '%'` is the subtree on both backends), its group,
 * its balance in units of 1/10000 credit (never floating point; CHECK >= 0 backs the
 * conditional debit), its username prefix. The role CHECK of migration 3's admins is widened
 * in place (PRAGMA writable_schema: the documented way to relax a CHECK without rebuilding
 * the table; rebuilding would cascade-delete every session and token through their foreign
 * keys, which stay ON inside a migration). credit_ledger is append-only (no UPDATE or DELETE
 * anywhere in the code); its reseller_id has no foreign key so that the history outlives a
 * deleted reseller (whose balance went back to its parent: its rows sum to 0).
 * idempotency_keys keeps the first answer of a spending request per (actor, key).
 * lines.reseller_id (migration 1, unused until now) is the line's owner. */
static const char migration_18[] =
    "PRAGMA writable_schema=ON;"
    "UPDATE sqlite_schema SET sql = replace(sql, 'role IN (''admin'',''viewer'')',"
    "  'role IN (''admin'',''viewer'',''reseller'')') WHERE type = 'table' AND name = 'admins';"
    "PRAGMA writable_schema=RESET;"
    "CREATE TABLE reseller_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),"
    "  trial_limit INTEGER NOT NULL DEFAULT 0 CHECK (trial_limit BETWEEN 0 AND 100000),"
    "  trial_period_hours INTEGER NOT NULL DEFAULT 24 CHECK (trial_period_hours BETWEEN 1 AND "
    "8760),"
    "  may_create_subresellers INTEGER NOT NULL DEFAULT 0 CHECK (may_create_subresellers IN (0,1)),"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE resellers ("
    "  admin_id INTEGER PRIMARY KEY REFERENCES admins(id) ON DELETE CASCADE,"
    "  parent_id INTEGER REFERENCES resellers(admin_id),"
    "  path TEXT NOT NULL UNIQUE,"
    "  group_id INTEGER NOT NULL REFERENCES reseller_groups(id),"
    "  balance INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),"
    "  username_prefix TEXT NOT NULL DEFAULT '' CHECK (length(username_prefix) <= 32),"
    "  notes TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  version INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX resellers_parent ON resellers(parent_id);"
    "CREATE INDEX resellers_group ON resellers(group_id);"
    "CREATE TABLE credit_ledger ("
    "  id INTEGER PRIMARY KEY,"
    "  reseller_id INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('purchase','extend','trial','transfer_in',"
    "    'transfer_out','refund','adjust')),"
    "  amount INTEGER NOT NULL,"
    "  balance_after INTEGER NOT NULL CHECK (balance_after >= 0),"
    "  actor_admin_id INTEGER,"
    "  actor TEXT NOT NULL DEFAULT '',"
    "  line_id INTEGER,"
    "  plan_id INTEGER,"
    "  transfer_id INTEGER,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  idempotency_key TEXT,"
    "  request_hash TEXT,"
    "  created_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX credit_ledger_reseller ON credit_ledger(reseller_id, id);"
    "CREATE INDEX credit_ledger_trials ON credit_ledger(reseller_id, kind, created_at);"
    "CREATE INDEX credit_ledger_transfer ON credit_ledger(transfer_id);"
    "CREATE TABLE idempotency_keys ("
    "  actor_admin_id INTEGER NOT NULL,"
    "  key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
    "  request_hash TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  response TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (actor_admin_id, key)"
    ") STRICT;"
    "ALTER TABLE plans ADD COLUMN credit_price INTEGER NOT NULL DEFAULT 0"
    "  CHECK (credit_price >= 0);"
    "ALTER TABLE plans ADD COLUMN trial_price INTEGER NOT NULL DEFAULT 0"
    "  CHECK (trial_price >= 0);"
    "CREATE TABLE plan_reseller_groups ("
    "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    "  group_id INTEGER NOT NULL REFERENCES reseller_groups(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (plan_id, group_id)"
    ") STRICT;"
    "CREATE INDEX plan_reseller_groups_group ON plan_reseller_groups(group_id);"
    "CREATE INDEX lines_owner ON lines(reseller_id);";

const char *const db_migrations[] = {migration_1,  migration_2,  migration_3,  migration_4,
                                     migration_5,  migration_6,  migration_7,  migration_8,
                                     migration_9,  migration_12, migration_13, migration_14,
                                     migration_15, migration_16, migration_17, migration_18};
const size_t db_migration_count = sizeof(db_migrations) / sizeof(db_migrations[0]);

/* PostgreSQL (db/db_pg.c): the schema of version 10 in one text, the same
 * tables, columns, constraints and indexes as versions 1-10 leave on SQLite,
 * in PostgreSQL's types (BIGINT, identity ids, DOUBLE PRECISION); the SQLite
 * triggers as plpgsql functions (catalogue epoch per statement, line_changes
 * per row); the trigram index of lines is not kept (the line list's q falls
 * back to its LIKE). Every table also NOTIFYs xtreamd_changes per statement:
 * db_change_counter() counts those. A later migration appends its own
 * PostgreSQL text here. */
static const char pg_schema_10[] =
    // clang-format off
    /* SQLite's functions the shared SQL uses (docs/internals/db.md) */
    "CREATE FUNCTION instr(text, text) RETURNS integer LANGUAGE sql IMMUTABLE AS "
    "'SELECT strpos($1, $2)';"
    "CREATE FUNCTION xtreamd_gc(acc text, v anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS "
    "'SELECT CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2::text ELSE $1 || '','' || $2::text END';"
    "CREATE AGGREGATE group_concat(anyelement) (SFUNC = xtreamd_gc, STYPE = text);"
    "CREATE FUNCTION xtreamd_gc2(acc text, v anyelement, sep text) RETURNS text LANGUAGE sql "
    "IMMUTABLE AS 'SELECT CASE WHEN $2 IS NULL THEN $1 WHEN $1 IS NULL THEN $2::text "
    "ELSE $1 || $3 || $2::text END';"
    "CREATE AGGREGATE group_concat(anyelement, text) (SFUNC = xtreamd_gc2, STYPE = text);"
    "CREATE TABLE settings ( key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE categories ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, kind "
    "TEXT NOT NULL CHECK (kind IN ('live','movie','series')), name TEXT NOT NULL CHECK "
    "(length(name) BETWEEN 1 AND 200), parent_id BIGINT REFERENCES categories(id) ON DELETE "
    "SET NULL, sort_order BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL, UNIQUE "
    "(kind, name));"
    "CREATE TABLE transcode_profiles ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY "
    "KEY, name TEXT NOT NULL UNIQUE, video_codec TEXT NOT NULL DEFAULT 'copy', audio_codec "
    "TEXT NOT NULL DEFAULT 'copy', video_bitrate_kbps BIGINT NOT NULL DEFAULT 0, "
    "audio_bitrate_kbps BIGINT NOT NULL DEFAULT 0, width BIGINT NOT NULL DEFAULT 0, height "
    "BIGINT NOT NULL DEFAULT 0, extra_args TEXT NOT NULL DEFAULT '', created_at BIGINT NOT "
    "NULL, hw_backend TEXT NOT NULL DEFAULT 'none' CHECK (hw_backend IN "
    "('none','vaapi','nvenc','qsv')), rate_control TEXT NOT NULL DEFAULT 'vbr' CHECK "
    "(rate_control IN ('cbr','vbr')), maxrate_kbps BIGINT NOT NULL DEFAULT 0 CHECK "
    "(maxrate_kbps >= 0), bufsize_kbps BIGINT NOT NULL DEFAULT 0 CHECK (bufsize_kbps >= 0), "
    "gop_seconds BIGINT NOT NULL DEFAULT 2 CHECK (gop_seconds BETWEEN 1 AND 20), fps BIGINT "
    "NOT NULL DEFAULT 0 CHECK (fps BETWEEN 0 AND 120), deinterlace BIGINT NOT NULL DEFAULT 0 "
    "CHECK (deinterlace IN (0,1)), audio_channels BIGINT NOT NULL DEFAULT 0 CHECK "
    "(audio_channels BETWEEN 0 AND 8), logo TEXT NOT NULL DEFAULT '', logo_position TEXT NOT "
    "NULL DEFAULT 'tr' CHECK (logo_position IN ('tl','tr','bl','br')), updated_at BIGINT NOT "
    "NULL DEFAULT 0);"
    "CREATE TABLE servers ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT "
    "NOT NULL UNIQUE, public_url TEXT NOT NULL DEFAULT '', internal_url TEXT NOT NULL DEFAULT "
    "'', is_main BIGINT NOT NULL DEFAULT 0 CHECK (is_main IN (0,1)), enabled BIGINT NOT NULL "
    "DEFAULT 1 CHECK (enabled IN (0,1)), max_clients BIGINT NOT NULL DEFAULT 0, weight BIGINT "
    "NOT NULL DEFAULT 1, last_seen BIGINT, created_at BIGINT NOT NULL);"
    "CREATE TABLE streams ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT "
    "NOT NULL CHECK (length(name) BETWEEN 1 AND 500), category_id BIGINT REFERENCES "
    "categories(id) ON DELETE SET NULL, stream_type TEXT NOT NULL DEFAULT 'live' CHECK "
    "(stream_type IN ('live','created_live','radio_streams')), epg_channel_id TEXT, "
    "epg_auto_id TEXT, logo TEXT NOT NULL DEFAULT '', custom_sid TEXT NOT NULL DEFAULT '', "
    "direct_source BIGINT NOT NULL DEFAULT 0 CHECK (direct_source IN (0,1)), always_on BIGINT "
    "NOT NULL DEFAULT 0 CHECK (always_on IN (0,1)), transcode_profile_id BIGINT REFERENCES "
    "transcode_profiles(id) ON DELETE SET NULL, tv_archive_days BIGINT NOT NULL DEFAULT 0 "
    "CHECK (tv_archive_days >= 0), is_adult BIGINT NOT NULL DEFAULT 0 CHECK (is_adult IN "
    "(0,1)), enabled BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)), sort_order BIGINT "
    "NOT NULL DEFAULT 0, added BIGINT NOT NULL);"
    "CREATE INDEX streams_category ON streams(category_id);"
    "CREATE TABLE stream_sources ( stream_id BIGINT NOT NULL REFERENCES streams(id) ON DELETE "
    "CASCADE, position BIGINT NOT NULL, url TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND "
    "4096), PRIMARY KEY (stream_id, position));"
    "CREATE INDEX stream_sources_url ON stream_sources(url);"
    "CREATE TABLE movies ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, title TEXT "
    "NOT NULL CHECK (length(title) BETWEEN 1 AND 500), original_title TEXT NOT NULL DEFAULT "
    "'', year BIGINT, category_id BIGINT REFERENCES categories(id) ON DELETE SET NULL, source "
    "TEXT NOT NULL, container TEXT NOT NULL DEFAULT 'mp4', poster TEXT NOT NULL DEFAULT '', "
    "backdrop TEXT NOT NULL DEFAULT '', poster_file TEXT NOT NULL DEFAULT '', backdrop_file "
    "TEXT NOT NULL DEFAULT '', library_root TEXT NOT NULL DEFAULT '', languages TEXT NOT NULL "
    "DEFAULT '', plot TEXT NOT NULL DEFAULT '', cast_names TEXT NOT NULL DEFAULT '', director "
    "TEXT NOT NULL DEFAULT '', genre TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT "
    "'', release_date TEXT NOT NULL DEFAULT '', youtube_trailer TEXT NOT NULL DEFAULT '', "
    "mpaa_rating TEXT NOT NULL DEFAULT '', rating DOUBLE PRECISION NOT NULL DEFAULT 0, "
    "tmdb_id BIGINT NOT NULL DEFAULT 0, duration_secs BIGINT NOT NULL DEFAULT 0, bitrate_kbps "
    "BIGINT NOT NULL DEFAULT 0, video_json TEXT NOT NULL DEFAULT '', audio_json TEXT NOT NULL "
    "DEFAULT '', probe_json TEXT NOT NULL DEFAULT '', file_size BIGINT NOT NULL DEFAULT 0, "
    "file_mtime BIGINT NOT NULL DEFAULT 0, available BIGINT NOT NULL DEFAULT 1 CHECK "
    "(available IN (0,1)), custom_sid TEXT NOT NULL DEFAULT '', direct_source BIGINT NOT NULL "
    "DEFAULT 0 CHECK (direct_source IN (0,1)), sort_order BIGINT NOT NULL DEFAULT 0, added "
    "BIGINT NOT NULL, UNIQUE (source));"
    "CREATE INDEX movies_category ON movies(category_id);"
    "CREATE TABLE series ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, title TEXT "
    "NOT NULL CHECK (length(title) BETWEEN 1 AND 500), year BIGINT, category_id BIGINT "
    "REFERENCES categories(id) ON DELETE SET NULL, folder TEXT NOT NULL DEFAULT '', cover "
    "TEXT NOT NULL DEFAULT '', backdrop TEXT NOT NULL DEFAULT '', cover_file TEXT NOT NULL "
    "DEFAULT '', backdrop_file TEXT NOT NULL DEFAULT '', plot TEXT NOT NULL DEFAULT '', "
    "cast_names TEXT NOT NULL DEFAULT '', director TEXT NOT NULL DEFAULT '', genre TEXT NOT "
    "NULL DEFAULT '', release_date TEXT NOT NULL DEFAULT '', youtube_trailer TEXT NOT NULL "
    "DEFAULT '', rating DOUBLE PRECISION NOT NULL DEFAULT 0, tmdb_id BIGINT NOT NULL DEFAULT "
    "0, episode_run_time BIGINT NOT NULL DEFAULT 0, sort_order BIGINT NOT NULL DEFAULT 0, "
    "added BIGINT NOT NULL, last_modified BIGINT NOT NULL);"
    "CREATE TABLE seasons ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, series_id "
    "BIGINT NOT NULL REFERENCES series(id) ON DELETE CASCADE, season_number BIGINT NOT NULL "
    "CHECK (season_number >= 0), name TEXT NOT NULL DEFAULT '', overview TEXT NOT NULL "
    "DEFAULT '', air_date TEXT NOT NULL DEFAULT '', cover TEXT NOT NULL DEFAULT '', UNIQUE "
    "(series_id, season_number));"
    "CREATE TABLE episodes ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "series_id BIGINT NOT NULL REFERENCES series(id) ON DELETE CASCADE, season_number BIGINT "
    "NOT NULL CHECK (season_number >= 0), episode_num BIGINT NOT NULL CHECK (episode_num >= "
    "0), title TEXT NOT NULL DEFAULT '', source TEXT NOT NULL, container TEXT NOT NULL "
    "DEFAULT 'mp4', plot TEXT NOT NULL DEFAULT '', release_date TEXT NOT NULL DEFAULT '', "
    "image TEXT NOT NULL DEFAULT '', image_file TEXT NOT NULL DEFAULT '', library_root TEXT "
    "NOT NULL DEFAULT '', languages TEXT NOT NULL DEFAULT '', rating DOUBLE PRECISION NOT "
    "NULL DEFAULT 0, tmdb_id BIGINT NOT NULL DEFAULT 0, duration_secs BIGINT NOT NULL DEFAULT "
    "0, bitrate_kbps BIGINT NOT NULL DEFAULT 0, video_json TEXT NOT NULL DEFAULT '', "
    "audio_json TEXT NOT NULL DEFAULT '', probe_json TEXT NOT NULL DEFAULT '', file_size "
    "BIGINT NOT NULL DEFAULT 0, file_mtime BIGINT NOT NULL DEFAULT 0, available BIGINT NOT "
    "NULL DEFAULT 1 CHECK (available IN (0,1)), custom_sid TEXT NOT NULL DEFAULT '', "
    "direct_source BIGINT NOT NULL DEFAULT 0 CHECK (direct_source IN (0,1)), added BIGINT NOT "
    "NULL, UNIQUE (source));"
    "CREATE INDEX episodes_series ON episodes(series_id, season_number, episode_num);"
    "CREATE INDEX series_folder ON series(folder);"
    "CREATE TABLE bouquets ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name "
    "TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200), sort_order BIGINT NOT NULL "
    "DEFAULT 0, created_at BIGINT NOT NULL);"
    "CREATE TABLE bouquet_items ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "bouquet_id BIGINT NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE, kind TEXT NOT NULL "
    "CHECK (kind IN ('all','category','live','movie','series')), item_id BIGINT, position "
    "BIGINT NOT NULL DEFAULT 0, CHECK ((kind = 'all') = (item_id IS NULL)), UNIQUE "
    "(bouquet_id, kind, item_id));"
    "CREATE TABLE admins ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, username "
    "TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64), password_hash TEXT NOT "
    "NULL, role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin','viewer')), disabled "
    "BIGINT NOT NULL DEFAULT 0 CHECK (disabled IN (0,1)), created_at BIGINT NOT NULL, "
    "updated_at BIGINT NOT NULL, last_login_at BIGINT);"
    "CREATE TABLE credits_log ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE, actor_id BIGINT "
    "REFERENCES admins(id) ON DELETE SET NULL, delta BIGINT NOT NULL, balance BIGINT NOT "
    "NULL, reason TEXT NOT NULL DEFAULT '', line_id BIGINT, created_at BIGINT NOT NULL);"
    "CREATE TABLE lines ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, username "
    "TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64), password TEXT NOT NULL "
    "CHECK (length(password) BETWEEN 1 AND 64), max_connections BIGINT NOT NULL DEFAULT 1 "
    "CHECK (max_connections >= 0), exp_date BIGINT, is_trial BIGINT NOT NULL DEFAULT 0 CHECK "
    "(is_trial IN (0,1)), enabled BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)), banned "
    "BIGINT NOT NULL DEFAULT 0 CHECK (banned IN (0,1)), allowed_outputs TEXT NOT NULL DEFAULT "
    "'ts,m3u8', message TEXT NOT NULL DEFAULT '', allowed_ips TEXT NOT NULL DEFAULT '', "
    "allowed_uas TEXT NOT NULL DEFAULT '', is_mag BIGINT NOT NULL DEFAULT 0 CHECK (is_mag IN "
    "(0,1)), reseller_id BIGINT REFERENCES admins(id) ON DELETE SET NULL, notes TEXT NOT NULL "
    "DEFAULT '', created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, lock_first_ip BIGINT "
    "NOT NULL DEFAULT 0 CHECK (lock_first_ip IN (0,1)), first_ip TEXT, max_daily_ips BIGINT "
    "NOT NULL DEFAULT 0 CHECK (max_daily_ips >= 0), denied_uas TEXT NOT NULL DEFAULT '', "
    "allowed_countries TEXT NOT NULL DEFAULT '', denied_countries TEXT NOT NULL DEFAULT '', "
    "attack_flagged_at BIGINT);"
    "CREATE TABLE line_bouquets ( line_id BIGINT NOT NULL REFERENCES lines(id) ON DELETE "
    "CASCADE, bouquet_id BIGINT NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE, position "
    "BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (line_id, bouquet_id));"
    "CREATE TABLE devices ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, line_id "
    "BIGINT NOT NULL REFERENCES lines(id) ON DELETE CASCADE, mac TEXT NOT NULL UNIQUE, kind "
    "TEXT NOT NULL DEFAULT 'mag' CHECK (kind IN ('mag','enigma2')), serial TEXT NOT NULL "
    "DEFAULT '', model TEXT NOT NULL DEFAULT '', token TEXT NOT NULL DEFAULT '', last_seen "
    "BIGINT, created_at BIGINT NOT NULL);"
    "CREATE TABLE epg_sources ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name "
    "TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100), url TEXT NOT NULL CHECK "
    "(length(url) BETWEEN 1 AND 4096), priority BIGINT NOT NULL DEFAULT 0, refresh_hours "
    "BIGINT NOT NULL DEFAULT 24 CHECK (refresh_hours >= 0), enabled BIGINT NOT NULL DEFAULT 1 "
    "CHECK (enabled IN (0,1)), gen BIGINT NOT NULL DEFAULT 0, last_import BIGINT, "
    "last_attempt BIGINT, last_status TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL);"
    "CREATE TABLE epg_channels ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "source_id BIGINT NOT NULL REFERENCES epg_sources(id) ON DELETE CASCADE, channel_id TEXT "
    "NOT NULL, display_name TEXT NOT NULL DEFAULT '', name_key TEXT NOT NULL DEFAULT '', "
    "id_key TEXT NOT NULL DEFAULT '', icon TEXT NOT NULL DEFAULT '', gen BIGINT NOT NULL "
    "DEFAULT 0, programmes BIGINT NOT NULL DEFAULT 0, UNIQUE (source_id, channel_id));"
    "CREATE INDEX epg_channels_channel ON epg_channels(channel_id);"
    "CREATE TABLE epg_programmes ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "channel BIGINT NOT NULL REFERENCES epg_channels(id) ON DELETE CASCADE, start BIGINT NOT "
    "NULL, stop BIGINT NOT NULL, gen BIGINT NOT NULL, title TEXT NOT NULL DEFAULT '', "
    "sub_title TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '', category TEXT "
    "NOT NULL DEFAULT '', episode_num TEXT NOT NULL DEFAULT '', icon TEXT NOT NULL DEFAULT "
    "'', lang TEXT NOT NULL DEFAULT '', rating TEXT NOT NULL DEFAULT '');"
    "CREATE UNIQUE INDEX epg_programmes_channel ON epg_programmes(channel, start);"
    "CREATE TABLE connection_history ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY "
    "KEY, line_id BIGINT REFERENCES lines(id) ON DELETE SET NULL, kind TEXT NOT NULL CHECK "
    "(kind IN ('live','movie','episode','timeshift')), item_id BIGINT NOT NULL, ip TEXT NOT "
    "NULL, user_agent TEXT NOT NULL DEFAULT '', started_at BIGINT NOT NULL, ended_at BIGINT "
    "NOT NULL, bytes BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE library_roots ( path TEXT PRIMARY KEY CHECK (substr(path, 1, 1) = '/' AND "
    "length(path) <= 4096), added BIGINT NOT NULL);"
    "CREATE TABLE admin_sessions ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "token_hash TEXT NOT NULL UNIQUE, admin_id BIGINT NOT NULL REFERENCES admins(id) ON "
    "DELETE CASCADE, csrf TEXT NOT NULL, created_at BIGINT NOT NULL, last_seen_at BIGINT NOT "
    "NULL, expires_at BIGINT NOT NULL, ip TEXT NOT NULL DEFAULT '', user_agent TEXT NOT NULL "
    "DEFAULT '');"
    "CREATE INDEX admin_sessions_admin ON admin_sessions(admin_id);"
    "CREATE INDEX admin_sessions_expiry ON admin_sessions(expires_at);"
    "CREATE TABLE api_tokens ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "admin_id BIGINT NOT NULL REFERENCES admins(id) ON DELETE CASCADE, name TEXT NOT NULL "
    "CHECK (length(name) BETWEEN 1 AND 100), token_hash TEXT NOT NULL UNIQUE, scopes TEXT NOT "
    "NULL, created_at BIGINT NOT NULL, expires_at BIGINT, last_used_at BIGINT, last_used_ip "
    "TEXT, revoked_at BIGINT);"
    "CREATE INDEX api_tokens_admin ON api_tokens(admin_id);"
    "CREATE TABLE audit_log ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, at "
    "BIGINT NOT NULL, admin_id BIGINT REFERENCES admins(id) ON DELETE SET NULL, "
    "admin_username TEXT NOT NULL, token_id BIGINT, ip TEXT NOT NULL DEFAULT '', action TEXT "
    "NOT NULL, entity TEXT NOT NULL, entity_id BIGINT, before TEXT, after TEXT);"
    "CREATE INDEX audit_log_entity ON audit_log(entity, entity_id);"
    "CREATE INDEX audit_log_admin ON audit_log(admin_id);"
    "CREATE INDEX lines_exp_date ON lines((exp_date IS NULL), exp_date);"
    "CREATE INDEX lines_created_at ON lines(created_at);"
    "CREATE INDEX lines_updated_at ON lines(updated_at);"
    "CREATE INDEX lines_max_connections ON lines(max_connections);"
    "CREATE INDEX line_bouquets_bouquet ON line_bouquets(bouquet_id, line_id);"
    "CREATE TABLE plans ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT "
    "NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100), duration_days BIGINT CHECK "
    "(duration_days > 0), duration_months BIGINT CHECK (duration_months > 0), trial_hours "
    "BIGINT CHECK (trial_hours > 0), max_connections BIGINT NOT NULL DEFAULT 1 CHECK "
    "(max_connections >= 0), allowed_outputs TEXT NOT NULL DEFAULT 'ts,m3u8', is_trial BIGINT "
    "NOT NULL DEFAULT 0 CHECK (is_trial IN (0,1)), created_at BIGINT NOT NULL, updated_at "
    "BIGINT NOT NULL, CHECK ((duration_days IS NOT NULL)::int + (duration_months IS NOT "
    "NULL)::int + (trial_hours IS NOT NULL)::int <= 1), CHECK (trial_hours IS NULL OR "
    "is_trial = 1));"
    "CREATE TABLE plan_bouquets ( plan_id BIGINT NOT NULL REFERENCES plans(id) ON DELETE "
    "CASCADE, bouquet_id BIGINT NOT NULL REFERENCES bouquets(id) ON DELETE CASCADE, position "
    "BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (plan_id, bouquet_id));"
    "CREATE INDEX plan_bouquets_bouquet ON plan_bouquets(bouquet_id);"
    "CREATE INDEX streams_name ON streams(name);"
    "CREATE INDEX streams_order ON streams(sort_order);"
    "CREATE INDEX movies_title ON movies(title);"
    "CREATE INDEX series_title ON series(title);"
    "CREATE INDEX lines_state ON lines(banned, enabled, exp_date);"
    "CREATE TABLE access_rules ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, kind "
    "TEXT NOT NULL CHECK (kind IN ('ip_deny','trusted_proxy','ua_allow','ua_deny', "
    "'country_allow','country_deny')), value TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND "
    "255), note TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, UNIQUE (kind, value));"
    "CREATE TABLE ip_bans ( ip TEXT PRIMARY KEY, until BIGINT NOT NULL, strikes BIGINT NOT "
    "NULL DEFAULT 1 CHECK (strikes >= 1), reason TEXT NOT NULL DEFAULT '', created_at BIGINT "
    "NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE INDEX streams_transcode_profile ON streams(transcode_profile_id);"
    "CREATE TABLE catalog_epochs ( part TEXT PRIMARY KEY, n BIGINT NOT NULL);"
    "CREATE TABLE line_changes ( seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
    "line_id BIGINT NOT NULL);"
    "CREATE FUNCTION xtreamd_content_epoch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
    "UPDATE catalog_epochs SET n = n + 1 WHERE part = 'content'; RETURN NULL; END $f$;"
    /* line_changes.seq must commit in its own order (the loader reads the
     * changes after the newest seq it saw): the writers of lines take this
     * lock until their commit, as SQLite's one writer did */
    "CREATE FUNCTION xtreamd_line_change() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN "
    "PERFORM pg_advisory_xact_lock(7874633202); IF "
    "TG_OP = 'DELETE' THEN INSERT INTO line_changes (line_id) VALUES (OLD.id); ELSE INSERT "
    "INTO line_changes (line_id) VALUES (NEW.id); END IF; RETURN NULL; END $f$;"
    "CREATE FUNCTION xtreamd_line_bouquet_change() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN PERFORM pg_advisory_xact_lock(7874633202); IF TG_OP <> 'INSERT' THEN INSERT INTO line_changes (line_id) VALUES (OLD.line_id); "
    "END IF; IF TG_OP <> 'DELETE' THEN INSERT INTO line_changes (line_id) VALUES "
    "(NEW.line_id); END IF; RETURN NULL; END $f$;"
    "CREATE FUNCTION xtreamd_line_changes_prune() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN DELETE FROM line_changes WHERE seq <= NEW.seq - 100000; RETURN NULL; END $f$;"
    "CREATE FUNCTION xtreamd_notify() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN PERFORM "
    "pg_notify('xtreamd_changes', ''); RETURN NULL; END $f$;"
    "INSERT INTO catalog_epochs (part, n) VALUES ('content', floor(random() * "
    "1000000000000)::bigint);"
    "SELECT setval(pg_get_serial_sequence('line_changes', 'seq'), 1 + floor(random() * "
    "1000000000000)::bigint);"
    "CREATE TRIGGER line_changes_prune AFTER INSERT ON line_changes FOR EACH ROW WHEN "
    "(NEW.seq % 1000 = 0) EXECUTE FUNCTION xtreamd_line_changes_prune();"
    "CREATE TRIGGER lines_change AFTER INSERT OR UPDATE OR DELETE ON lines FOR EACH ROW "
    "EXECUTE FUNCTION xtreamd_line_change();"
    "CREATE TRIGGER line_bouquets_change AFTER INSERT OR UPDATE OR DELETE ON line_bouquets "
    "FOR EACH ROW EXECUTE FUNCTION xtreamd_line_bouquet_change();"
    "CREATE TRIGGER categories_epoch AFTER INSERT OR UPDATE OR DELETE ON categories FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER streams_epoch AFTER INSERT OR UPDATE OR DELETE ON streams FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER stream_sources_epoch AFTER INSERT OR UPDATE OR DELETE ON stream_sources "
    "FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER movies_epoch AFTER INSERT OR UPDATE OR DELETE ON movies FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER series_epoch AFTER INSERT OR UPDATE OR DELETE ON series FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER seasons_epoch AFTER INSERT OR UPDATE OR DELETE ON seasons FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER episodes_epoch AFTER INSERT OR UPDATE OR DELETE ON episodes FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER bouquets_epoch AFTER INSERT OR UPDATE OR DELETE ON bouquets FOR EACH "
    "STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER bouquet_items_epoch AFTER INSERT OR UPDATE OR DELETE ON bouquet_items FOR "
    "EACH STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER transcode_profiles_epoch AFTER INSERT OR UPDATE OR DELETE ON "
    "transcode_profiles FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "DO $d$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = "
    "current_schema() AND tablename <> 'xtreamd_schema' LOOP EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE "
    "OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify()', t || '_notify', "
    "t); END LOOP; END $d$;";
// clang-format on

/* Version 11 = migration_13 (a profile's ABR renditions). */
static const char pg_migration_11[] =
    "ALTER TABLE transcode_profiles ADD COLUMN renditions TEXT NOT NULL DEFAULT ''"
    "  CHECK (length(renditions) <= 200);";

/* Version 12 = migration_14 (the nodes of a cluster; no xtreamd_notify trigger, see there). */
static const char pg_migration_12[] =
    "CREATE TABLE nodes ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),"
    "  role TEXT NOT NULL CHECK (role IN ('main','edge')),"
    "  public_url TEXT NOT NULL CHECK (length(public_url) BETWEEN 1 AND 255),"
    "  state TEXT NOT NULL DEFAULT 'active'"
    "    CHECK (state IN ('active','draining','fenced','revoked')),"
    "  max_sessions BIGINT NOT NULL DEFAULT 0 CHECK (max_sessions >= 0),"
    "  max_egress_mbps BIGINT NOT NULL DEFAULT 0 CHECK (max_egress_mbps >= 0),"
    "  weight BIGINT NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 10000),"
    "  countries TEXT NOT NULL DEFAULT '' CHECK (length(countries) <= 63),"
    "  geo_mode TEXT NOT NULL DEFAULT 'prefer' CHECK (geo_mode IN ('prefer','strict','avoid')),"
    "  pubkey TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, enrolled_at BIGINT,"
    "  version TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE node_status ("
    "  node_id BIGINT PRIMARY KEY REFERENCES nodes(id) ON DELETE CASCADE,"
    "  seen_at BIGINT NOT NULL, seen_at_ms BIGINT NOT NULL,"
    "  db_now_skew_ms BIGINT NOT NULL DEFAULT 0, sessions BIGINT NOT NULL DEFAULT 0,"
    "  egress_bps BIGINT NOT NULL DEFAULT 0, ingress_bps BIGINT NOT NULL DEFAULT 0,"
    "  cpu_pct DOUBLE PRECISION NOT NULL DEFAULT 0, mem_bytes BIGINT NOT NULL DEFAULT 0,"
    "  channels_running BIGINT NOT NULL DEFAULT 0, seq BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE node_enrol_codes ( code_hash TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL DEFAULT '', expires_at BIGINT NOT NULL, used_at BIGINT,"
    "  created_by TEXT NOT NULL DEFAULT '');";

/* Version 13 = migration_15 (cluster_sessions); fillfactor 70 leaves room for
 * HOT updates of last_seen_at and ended_at. */
// clang-format off
static const char pg_migration_13[] =
    CLUSTER_SESSIONS_TABLE("BIGINT") " WITH (fillfactor = 70);" CLUSTER_SESSIONS_INDEXES;
// clang-format on

/* Version 14 = migration_16 (stream placements: a content change, so the content epoch and
 * the change notification like stream_sources). */
static const char pg_migration_14[] =
    "CREATE TABLE stream_placements ("
    "  stream_id BIGINT NOT NULL REFERENCES streams(id) ON DELETE CASCADE,"
    "  node_id BIGINT NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
    "  mode TEXT NOT NULL DEFAULT 'on_demand' CHECK (mode IN ('always','on_demand')),"
    "  parent_node_id BIGINT REFERENCES nodes(id) ON DELETE SET NULL"
    "    CHECK (parent_node_id IS NULL OR parent_node_id <> node_id),"
    "  PRIMARY KEY (stream_id, node_id));"
    "CREATE TRIGGER stream_placements_epoch AFTER INSERT OR UPDATE OR DELETE ON stream_placements"
    " FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_content_epoch();"
    "CREATE TRIGGER stream_placements_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    " stream_placements FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();";

/* Version 15 = migration_17: the content epoch moves once per transaction,
 * not once per statement. Every statement's UPDATE of the one epoch row
 * left a new row version that the next one had to walk to (none can be
 * pruned before the commit): an import of 10,000 channels in one
 * transaction did 20,000 UPDATEs of that row, quadratic, and ran past the
 * tests' 120 s (fair-writing, memory). The loader only compares the value,
 * so one move per transaction says as much. The flag is a transaction-local
 * setting: a rolled-back savepoint takes both the UPDATE and the flag back. */
static const char pg_migration_15[] =
    "CREATE OR REPLACE FUNCTION xtreamd_content_epoch() RETURNS trigger LANGUAGE plpgsql AS $f$"
    " BEGIN IF current_setting('xtreamd.content_moved', true) IS DISTINCT FROM 'on' THEN"
    " UPDATE catalog_epochs SET n = n + 1 WHERE part = 'content';"
    " PERFORM set_config('xtreamd.content_moved', 'on', true); END IF;"
    " RETURN NULL; END $f$;";

/* Version 16 = migration_18 (resellers and credits). */
static const char pg_migration_16[] =
    "ALTER TABLE admins DROP CONSTRAINT admins_role_check;"
    "ALTER TABLE admins ADD CONSTRAINT admins_role_check"
    "  CHECK (role IN ('admin','viewer','reseller'));"
    "CREATE TABLE reseller_groups ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),"
    "  trial_limit BIGINT NOT NULL DEFAULT 0 CHECK (trial_limit BETWEEN 0 AND 100000),"
    "  trial_period_hours BIGINT NOT NULL DEFAULT 24 CHECK (trial_period_hours BETWEEN 1 AND 8760),"
    "  may_create_subresellers BIGINT NOT NULL DEFAULT 0 CHECK (may_create_subresellers IN (0,1)),"
    "  created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
    "CREATE TABLE resellers ( admin_id BIGINT PRIMARY KEY REFERENCES admins(id) ON DELETE CASCADE,"
    "  parent_id BIGINT REFERENCES resellers(admin_id), path TEXT NOT NULL UNIQUE,"
    "  group_id BIGINT NOT NULL REFERENCES reseller_groups(id),"
    "  balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),"
    "  username_prefix TEXT NOT NULL DEFAULT '' CHECK (length(username_prefix) <= 32),"
    "  notes TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
    "  version BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX resellers_parent ON resellers(parent_id);"
    "CREATE INDEX resellers_group ON resellers(group_id);"
    "CREATE INDEX resellers_path ON resellers(path text_pattern_ops);"
    "CREATE TABLE credit_ledger ( id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  reseller_id BIGINT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('purchase','extend',"
    "  'trial','transfer_in','transfer_out','refund','adjust')), amount BIGINT NOT NULL,"
    "  balance_after BIGINT NOT NULL CHECK (balance_after >= 0), actor_admin_id BIGINT,"
    "  actor TEXT NOT NULL DEFAULT '', line_id BIGINT, plan_id BIGINT, transfer_id BIGINT,"
    "  reason TEXT NOT NULL DEFAULT '', idempotency_key TEXT, request_hash TEXT,"
    "  created_at BIGINT NOT NULL);"
    "CREATE INDEX credit_ledger_reseller ON credit_ledger(reseller_id, id);"
    "CREATE INDEX credit_ledger_trials ON credit_ledger(reseller_id, kind, created_at);"
    "CREATE INDEX credit_ledger_transfer ON credit_ledger(transfer_id);"
    "CREATE TABLE idempotency_keys ( actor_admin_id BIGINT NOT NULL, key TEXT NOT NULL"
    "  CHECK (length(key) BETWEEN 1 AND 255), request_hash TEXT NOT NULL, status BIGINT NOT NULL,"
    "  response TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (actor_admin_id, key));"
    "ALTER TABLE plans ADD COLUMN credit_price BIGINT NOT NULL DEFAULT 0"
    "  CHECK (credit_price >= 0);"
    "ALTER TABLE plans ADD COLUMN trial_price BIGINT NOT NULL DEFAULT 0"
    "  CHECK (trial_price >= 0);"
    "CREATE TABLE plan_reseller_groups ( plan_id BIGINT NOT NULL REFERENCES plans(id) ON DELETE"
    "  CASCADE, group_id BIGINT NOT NULL REFERENCES reseller_groups(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (plan_id, group_id));"
    "CREATE INDEX plan_reseller_groups_group ON plan_reseller_groups(group_id);"
    "CREATE INDEX lines_owner ON lines(reseller_id);"
    "CREATE TRIGGER reseller_groups_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    "  reseller_groups FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();"
    "CREATE TRIGGER resellers_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    "  resellers FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();"
    "CREATE TRIGGER credit_ledger_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    "  credit_ledger FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();"
    "CREATE TRIGGER idempotency_keys_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    "  idempotency_keys FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();"
    "CREATE TRIGGER plan_reseller_groups_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON"
    "  plan_reseller_groups FOR EACH STATEMENT EXECUTE FUNCTION xtreamd_notify();";

const char *const db_migrations_pg[] = {pg_schema_10,    pg_migration_11, pg_migration_12,
                                        pg_migration_13, pg_migration_14, pg_migration_15,
                                        pg_migration_16};
const size_t db_migration_pg_count = sizeof(db_migrations_pg) / sizeof(db_migrations_pg[0]);
