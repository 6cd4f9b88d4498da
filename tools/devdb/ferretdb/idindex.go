package main

// FerretDB 1.24 on SQLite hands SQLite one filter only, a lone {_id: <string or ObjectId>}, as
// `WHERE _ferretdb_sjson->'$._id' = ?`. Its _id index, though, is built on
// `_ferretdb_sjson->"_id"`, and SQLite uses an expression index only for the very same
// expression: every lookup by _id scans the whole table (EXPLAIN QUERY PLAN says SCAN). We give
// every collection table an index on the expression the lookup uses, so that it is a SEARCH.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

// idLookupIndexSuffix names our index beside FerretDB's own ones (theirs end in the index name).
const idLookupIndexSuffix = "__id_lookup"

// dataDir turns FerretDB's --sqlite-url (file:/path/ with optional query) into the folder.
func dataDir(sqliteURL string) (string, error) {
	u, err := url.Parse(sqliteURL)
	if err != nil {
		return "", err
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("not a file: URI: %q", sqliteURL)
	}
	if u.Opaque != "" {
		return u.Opaque, nil
	}
	return u.Path, nil
}

// openFile is a connection kept to one database file, with the file it was opened on.
type openFile struct {
	db   *sql.DB
	info os.FileInfo
}

// indexIDLookups checks every database file of dir each interval, until ctx ends. New
// collections get their index within an interval of being created, while still nearly empty.
func indexIDLookups(ctx context.Context, dir string, interval time.Duration, logger *slog.Logger) {
	open := map[string]openFile{}
	defer func() {
		for _, f := range open {
			f.db.Close()
		}
	}()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		seen := make(map[string]bool, len(files))
		for _, file := range files {
			seen[file] = true
			db, err := connection(open, file)
			if err == nil {
				err = indexTables(ctx, db)
			}
			if err != nil && ctx.Err() == nil {
				logger.Warn("indexing _id lookups", "file", file, "error", err)
			}
		}
		for file, f := range open {
			if !seen[file] {
				f.db.Close()
				delete(open, file)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// connection keeps one connection per file, opened again when a dropped database's file was
// created anew (a connection to the old one would index nothing).
func connection(open map[string]openFile, file string) (*sql.DB, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if f, ok := open[file]; ok {
		if os.SameFile(f.info, info) {
			return f.db, nil
		}
		f.db.Close()
		delete(open, file)
	}
	// FerretDB's own busy timeout: whoever holds the write lock, the other waits.
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	open[file] = openFile{db: db, info: info}
	return db, nil
}

// indexTables adds the index to each collection table of the file that lacks it.
func indexTables(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `
		SELECT c.table_name FROM _ferretdb_collections c
		WHERE NOT EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type = 'index' AND m.name = c.table_name || ?)`,
		idLookupIndexSuffix)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // a database FerretDB is still creating
		}
		return err
	}
	var tables []string
	for rows.Next() {
		var table string
		if err := rows.Scan(&table); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, table)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}

	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+idLookupIndexSuffix, table)
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "no such table") {
			return err
		}
	}
	return nil
}
