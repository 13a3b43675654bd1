package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
)

// migrations are the schema steps, in order: applying migrations[i] takes the database from
// version i to version i+1 (PRAGMA user_version). Never edit a step that has shipped; append a
// new one. Each step runs in its own transaction together with the user_version update. A step
// may also have work that SQLite cannot do inside a transaction (VACUUM): that is
// beforeStep[i], run just before the transaction of migrations[i] (see applyStep).
var migrations = []string{
	// v1: plugins, their key-value data and the audit log.
	`
CREATE TABLE plugins (
	name        TEXT    NOT NULL PRIMARY KEY,
	version     TEXT    NOT NULL,
	dir         TEXT    NOT NULL,
	wasm_sha256 TEXT    NOT NULL,
	manifest    BLOB    NOT NULL,
	granted     BLOB    NOT NULL,
	limits      BLOB    NOT NULL,
	tools       BLOB    NOT NULL,
	enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	added_at    TEXT    NOT NULL
) STRICT;

-- One row per key of one plugin. The plugin is its own column, so no key string can name
-- another plugin's row. Rows are deleted with their plugin by DeletePlugin.
CREATE TABLE kv (
	plugin TEXT NOT NULL,
	key    TEXT NOT NULL,
	value  BLOB NOT NULL,
	PRIMARY KEY (plugin, key)
) STRICT; -- a rowid table: values may be up to 1 MiB, too large for WITHOUT ROWID

-- How many kv rows each plugin holds, kept by the triggers below, so the MaxKVKeys check on
-- a new key costs one lookup instead of counting the plugin's rows.
CREATE TABLE kv_usage (
	plugin TEXT    NOT NULL PRIMARY KEY,
	keys   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER kv_usage_insert AFTER INSERT ON kv
BEGIN
	INSERT INTO kv_usage (plugin, keys) VALUES (new.plugin, 1)
	ON CONFLICT (plugin) DO UPDATE SET keys = keys + 1;
END;

CREATE TRIGGER kv_usage_delete AFTER DELETE ON kv
BEGIN
	UPDATE kv_usage SET keys = keys - 1 WHERE plugin = old.plugin;
	DELETE FROM kv_usage WHERE plugin = old.plugin AND keys <= 0;
END;

CREATE TABLE audit (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	time    TEXT NOT NULL,
	event   TEXT NOT NULL,
	subject TEXT NOT NULL,
	detail  TEXT NOT NULL
) STRICT;

CREATE INDEX audit_by_subject ON audit (subject, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
`,

	// v2: "always" answers to the approval prompt for dangerous host commands, one row per
	// command shape (see approvals.go). last_used is NULL until the approval is first used.
	`
CREATE TABLE approvals (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	shape      TEXT    NOT NULL UNIQUE CHECK (shape <> ''),
	reason     TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	last_used  TEXT,
	uses       INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0)
) STRICT;
`,

	// v3: agent conversations (see sessions.go). A session belongs to the platform it came from
	// (source); its messages go with it (ON DELETE CASCADE). messages_fts is an external-content
	// FTS5 index over messages.content, kept in sync by the triggers below, so it holds no copy
	// of the text. Message ids are AUTOINCREMENT: never reused, so a reported id names one
	// message forever.
	`
CREATE TABLE sessions (
	id         TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
	source     TEXT    NOT NULL CHECK (source <> ''),
	profile    TEXT    NOT NULL,
	title      TEXT    NOT NULL,
	model      TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	updated_at TEXT    NOT NULL,
	messages   INTEGER NOT NULL DEFAULT 0 CHECK (messages >= 0)
) STRICT;

CREATE INDEX sessions_by_source ON sessions (source, updated_at);
CREATE INDEX sessions_by_updated ON sessions (updated_at);

CREATE TABLE messages (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	session_id   TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	role         TEXT    NOT NULL CHECK (role IN ('system', 'user', 'assistant', 'tool')),
	content      TEXT    NOT NULL,
	tool_calls   TEXT    CHECK (tool_calls IS NULL OR json_valid(tool_calls)),
	tool_call_id TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	created_at   TEXT    NOT NULL
) STRICT;

CREATE INDEX messages_by_session ON messages (session_id, id);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
	content,
	content = 'messages',
	content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
BEGIN
	INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
	INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
`,

	// v4: where installed plugins came from and who signed them (the lock), every version kept
	// for rollback, the signing keys the user trusts, and installed skills (see plugins.go,
	// keys.go, skills.go). A plugin's seal is an HMAC over its lock fields made with a key kept
	// beside the database, so an edit of the lock that did not go through hermes is noticed.
	`
ALTER TABLE plugins ADD COLUMN source     TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN signer     TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN signer_key TEXT NOT NULL DEFAULT '';
ALTER TABLE plugins ADD COLUMN signature  BLOB NOT NULL DEFAULT x'';
ALTER TABLE plugins ADD COLUMN seal       TEXT NOT NULL DEFAULT '';

CREATE TABLE plugin_versions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT NOT NULL,
	version     TEXT NOT NULL,
	dir         TEXT NOT NULL,
	wasm_sha256 TEXT NOT NULL,
	manifest    BLOB NOT NULL,
	granted     BLOB NOT NULL,
	limits      BLOB NOT NULL,
	tools       BLOB NOT NULL,
	source      TEXT NOT NULL,
	signer      TEXT NOT NULL,
	signer_key  TEXT NOT NULL,
	signature   BLOB NOT NULL,
	installed_at TEXT NOT NULL,
	UNIQUE (name, version, wasm_sha256)
) STRICT;

CREATE TABLE trusted_keys (
	name       TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	public_key TEXT NOT NULL UNIQUE CHECK (public_key <> ''),
	added_at   TEXT NOT NULL
) STRICT;

CREATE TABLE skills (
	name            TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	version         TEXT NOT NULL,
	source          TEXT NOT NULL,
	trust           TEXT NOT NULL CHECK (trust IN ('builtin', 'trusted', 'community', 'agent-created')),
	content_sha256  TEXT NOT NULL,
	scanner_version TEXT NOT NULL,
	verdict         TEXT NOT NULL CHECK (verdict IN ('safe', 'caution', 'dangerous')),
	findings        TEXT NOT NULL CHECK (json_valid(findings)),
	dir             TEXT NOT NULL,
	installed_at    TEXT NOT NULL
) STRICT;

CREATE TABLE skill_versions (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	name            TEXT NOT NULL,
	version         TEXT NOT NULL,
	source          TEXT NOT NULL,
	trust           TEXT NOT NULL,
	content_sha256  TEXT NOT NULL,
	scanner_version TEXT NOT NULL,
	verdict         TEXT NOT NULL,
	findings        TEXT NOT NULL CHECK (json_valid(findings)),
	dir             TEXT NOT NULL,
	installed_at    TEXT NOT NULL,
	UNIQUE (name, version, content_sha256)
) STRICT;
`,

	// v5: messages_fts merges its index segments 16 at a time rather than FTS5's default 4.
	// Every append commits a small segment of its own, and merging them 4 at a time took about
	// a fifth of an append's CPU time; 16 at a time takes about a seventh. A search reads a few
	// more segments in exchange (about 22 rather than 13 on average while 100,000 messages are
	// appended), which costs it little (see BENCHMARKS.md, issue 6). FTS5 keeps the settings
	// in messages_fts_config, so every connection uses them from now on.
	`
INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 16);
INSERT INTO messages_fts (messages_fts, rank) VALUES ('crisismerge', 16);
`,

	// v6: messages are indexed for search in batches rather than each by a trigger as it is
	// appended (see ftsBatch in sessions.go): FTS5 writes an index segment per transaction,
	// and writing and merging those was most of an append's cost. messages_fts_progress holds
	// the highest message id indexed; the messages above it (the tail) are indexed by the
	// append that makes the tail ftsBatch long, or by the next search, each in a transaction
	// of its own with the progress row. Deleting or editing a message updates the index only
	// when the message is in it.
	`
CREATE TABLE messages_fts_progress (
	id           INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	indexed_upto INTEGER NOT NULL
) STRICT;

INSERT INTO messages_fts_progress (id, indexed_upto) VALUES (1, coalesce((SELECT max(id) FROM messages), 0));

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.id <= (SELECT indexed_upto FROM messages_fts_progress)
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN old.id <= (SELECT indexed_upto FROM messages_fts_progress)
BEGIN
	INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
	INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;
`,

	// v7: plugins' capability uses (see activity.go): one row per HTTP request, file opened, env
	// key or kv key read or written, command run, denial or limit hit. Kept as a ring per plugin
	// by AppendActivity, so a plugin calling in a loop cannot grow the database without bound.
	// Only names are stored: a URL's host and path (no query), a key's name, never a value.
	`
CREATE TABLE activity (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	time    TEXT NOT NULL,
	plugin  TEXT NOT NULL CHECK (plugin <> ''),
	tool    TEXT NOT NULL,
	session TEXT NOT NULL,
	kind    TEXT NOT NULL CHECK (kind <> ''),
	op      TEXT NOT NULL,
	target  TEXT NOT NULL,
	outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'limit', 'error', 'dropped')),
	detail  TEXT NOT NULL
) STRICT;

CREATE INDEX activity_by_plugin ON activity (plugin, id);
CREATE INDEX activity_by_time ON activity (time);
`,

	// v8: the chat gateway (host/gateway, see gateway.go): users granted by pairing, pending
	// pairing codes (only their SHA-256), messages dropped per stranger, updates already handled
	// (a redelivered one is skipped), the session each chat talks in and each platform's
	// connection state.
	`
CREATE TABLE gateway_grants (
	platform TEXT NOT NULL,
	user_id  TEXT NOT NULL CHECK (user_id <> ''),
	added_at TEXT NOT NULL,
	via      TEXT NOT NULL,
	PRIMARY KEY (platform, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE gateway_pairings (
	code_sha256 TEXT NOT NULL PRIMARY KEY,
	platform    TEXT NOT NULL,
	expires_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE gateway_dropped (
	platform TEXT    NOT NULL,
	user_id  TEXT    NOT NULL,
	count    INTEGER NOT NULL,
	last_at  TEXT    NOT NULL,
	PRIMARY KEY (platform, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE gateway_updates (
	platform  TEXT NOT NULL,
	update_id TEXT NOT NULL,
	seen_at   TEXT NOT NULL,
	PRIMARY KEY (platform, update_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX gateway_updates_by_time ON gateway_updates (seen_at);

CREATE TABLE gateway_chats (
	platform   TEXT NOT NULL,
	chat_key   TEXT NOT NULL,
	session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	PRIMARY KEY (platform, chat_key)
) STRICT, WITHOUT ROWID;

-- What a running gateway last knew of its connection to each platform.
CREATE TABLE gateway_status (
	platform TEXT NOT NULL PRIMARY KEY,
	state    TEXT NOT NULL CHECK (state IN ('connected', 'disconnected', 'stopped')),
	since    TEXT NOT NULL
) STRICT, WITHOUT ROWID;
`,

	// v9: a skill's verdict may be "advisory" (findings worth knowing that never block an
	// install, such as unpinned installs): the skills table is rebuilt with the wider CHECK.
	`
CREATE TABLE skills_v9 (
	name            TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
	version         TEXT NOT NULL,
	source          TEXT NOT NULL,
	trust           TEXT NOT NULL CHECK (trust IN ('builtin', 'trusted', 'community', 'agent-created')),
	content_sha256  TEXT NOT NULL,
	scanner_version TEXT NOT NULL,
	verdict         TEXT NOT NULL CHECK (verdict IN ('safe', 'advisory', 'caution', 'dangerous')),
	findings        TEXT NOT NULL CHECK (json_valid(findings)),
	dir             TEXT NOT NULL,
	installed_at    TEXT NOT NULL
) STRICT;
INSERT INTO skills_v9 SELECT name, version, source, trust, content_sha256, scanner_version, verdict, findings, dir, installed_at FROM skills;
DROP TABLE skills;
ALTER TABLE skills_v9 RENAME TO skills;
`,

	// v10: a change counter of the lock (see LockVersion). Triggers bump it with every change to
	// a plugin's lock entry or to the trusted keys, in the writer's own transaction, whoever the
	// writer is (hermes or a stray sqlite3 session), so a long-running server reads one row to
	// learn whether it must reload its plugins.
	`
CREATE TABLE lock_changes (
	id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	n  INTEGER NOT NULL
) STRICT;
INSERT INTO lock_changes (id, n) VALUES (1, 0);

CREATE TRIGGER lock_changes_plugin_insert AFTER INSERT ON plugins
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER lock_changes_plugin_update AFTER UPDATE ON plugins
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER lock_changes_plugin_delete AFTER DELETE ON plugins
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER lock_changes_key_insert AFTER INSERT ON trusted_keys
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER lock_changes_key_update AFTER UPDATE ON trusted_keys
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
CREATE TRIGGER lock_changes_key_delete AFTER DELETE ON trusted_keys
BEGIN UPDATE lock_changes SET n = n + 1 WHERE id = 1; END;
`,

	// v11: the database gives freed pages back to the file system (auto_vacuum=INCREMENTAL;
	// DeletePlugin runs PRAGMA incremental_vacuum), and kv_usage keeps each plugin's total kv
	// size (bytes of keys plus values, the kv_bytes limit) beside its key count, so KVSet checks
	// the limit with one lookup instead of summing the plugin's rows.
	//
	// Switching an existing database to incremental auto-vacuum takes PRAGMA auto_vacuum then a
	// VACUUM, which cannot run inside a transaction: that is beforeStep[10]
	// (toIncrementalVacuum), run before this step's transaction. If the process stops between
	// the two, the database is still version 10 and the next Open finds it already incremental
	// and skips the VACUUM. New databases are created incremental (applyStep, version 0).
	`
ALTER TABLE kv_usage ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;

UPDATE kv_usage SET bytes = (
	SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0) FROM kv WHERE kv.plugin = kv_usage.plugin
);

DROP TRIGGER kv_usage_insert;
DROP TRIGGER kv_usage_delete;

CREATE TRIGGER kv_usage_insert AFTER INSERT ON kv
BEGIN
	INSERT INTO kv_usage (plugin, keys, bytes)
	VALUES (new.plugin, 1, length(CAST(new.key AS BLOB)) + length(new.value))
	ON CONFLICT (plugin) DO UPDATE SET keys = keys + 1, bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER kv_usage_delete AFTER DELETE ON kv
BEGIN
	UPDATE kv_usage SET keys = keys - 1, bytes = bytes - (length(CAST(old.key AS BLOB)) + length(old.value))
	WHERE plugin = old.plugin;
	DELETE FROM kv_usage WHERE plugin = old.plugin AND keys <= 0;
END;

-- KVSet replaces a value in place; plugin and key never change, but the trigger does not
-- rely on it.
CREATE TRIGGER kv_usage_update AFTER UPDATE ON kv
BEGIN
	UPDATE kv_usage SET keys = keys - 1, bytes = bytes - (length(CAST(old.key AS BLOB)) + length(old.value))
	WHERE plugin = old.plugin;
	INSERT INTO kv_usage (plugin, keys, bytes)
	VALUES (new.plugin, 1, length(CAST(new.key AS BLOB)) + length(new.value))
	ON CONFLICT (plugin) DO UPDATE SET keys = keys + 1, bytes = bytes + excluded.bytes;
	DELETE FROM kv_usage WHERE plugin = old.plugin AND keys <= 0;
END;
`,
}

// beforeStep holds, by index into migrations, work that must run outside a transaction before
// that step's transaction. Each must be idempotent: it runs again if the process stops before
// the step commits, and several processes opening an old database at once may each run it.
var beforeStep = map[int]func(context.Context, *DB) error{
	10: toIncrementalVacuum,
}

// autoVacuumIncremental is PRAGMA auto_vacuum's value for INCREMENTAL.
const autoVacuumIncremental = 2

// toIncrementalVacuum switches the database to auto_vacuum=INCREMENTAL, which for a database
// that already has tables takes a VACUUM (a rewrite of the whole file, outside any
// transaction). A database already incremental is left alone.
func toIncrementalVacuum(ctx context.Context, db *DB) error {
	// The pragma applies to the connection VACUUM runs on: pin one.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var mode int
	if err := conn.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	if mode == autoVacuumIncremental {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum into auto_vacuum=INCREMENTAL: %w", err)
	}
	return nil
}

// migrate brings the database up to len(steps). When it is already there this is one query.
func (db *DB) migrate(ctx context.Context, steps []string) error {
	want := len(steps)
	var have int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	for have < want {
		var err error
		if have, err = db.applyStep(ctx, steps, have); err != nil {
			return err
		}
	}
	if have > want {
		return db.tooNew(have, want)
	}
	return nil
}

// applyStep applies the next step, if another process has not already done so, and returns the
// version the database is at afterwards.
func (db *DB) applyStep(ctx context.Context, steps []string, have int) (int, error) {
	want := len(steps)
	if before := beforeStep[have]; before != nil { // migrate calls this only while have < want
		if err := before(ctx, db); err != nil {
			return 0, fmt.Errorf("migrate schema to version %d: %w", have+1, err)
		}
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// Re-read under the write lock: another process may have migrated meanwhile.
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have >= want {
			return nil
		}
		if have == 0 {
			// A new database: before its first table is created, auto_vacuum can still be
			// chosen without a VACUUM (see migrations v11).
			if _, err := tx.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
				return fmt.Errorf("set auto_vacuum: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, steps[have]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", have+1, err)
		}
		// PRAGMA takes no bound parameters; have+1 is an int we computed.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", have+1)); err != nil {
			return fmt.Errorf("set schema version %d: %w", have+1, err)
		}
		have++
		return nil
	})
	if err != nil {
		return 0, err
	}
	return have, nil
}

func (db *DB) tooNew(have, want int) error {
	return fmt.Errorf("%s is schema version %d, this hermes knows up to %d; upgrade hermes: %w",
		filepath.Base(db.path), have, want, ErrSchemaTooNew)
}
