// Command ferretdb runs FerretDB 1.x (SQLite backend) embedded, for development and CI only.
//
// We wrap the embeddable package instead of installing cmd/ferretdb because a module-mode
// build of cmd/ferretdb lacks the version file its release build generates and panics at start.
// The embedded mode also keeps telemetry off by construction.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "loopback TCP address to listen on (port 0 picks a free one)")
	sqliteURL := flag.String("sqlite-url", "", "SQLite data directory URI, e.g. file:/path/to/data/")
	logLevel := flag.String("log-level", "error", "debug, info, warn or error")
	exitOnStdinEOF := flag.Bool("exit-on-stdin-eof", false, "stop when standard input closes, so that a parent that dies leaves no orphan")
	flag.Parse()

	if *sqliteURL == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: --sqlite-url is required")
		os.Exit(2)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb: bad --log-level:", err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	// FerretDB allocates heavily per command (BSON, reflection over its parameters) on a small live
	// heap, so Go's default GOGC=100 collects very often: a lookup by _id cost ~0.52 ms of its CPU,
	// ~0.41 ms at 400, for a heap that stays in the tens of MiB. GOGC in the environment still wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(400)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: *sqliteURL,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir, err := dataDir(*sqliteURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb: bad --sqlite-url:", err)
		os.Exit(2)
	}
	go indexIDLookups(ctx, dir, time.Second, logger)

	if *exitOnStdinEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	// One JSON line on stdout tells the parent process where we listen.
	ready, _ := json.Marshal(map[string]any{"uri": f.MongoDBURI(), "pid": os.Getpid()})
	fmt.Println(string(ready))

	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}
