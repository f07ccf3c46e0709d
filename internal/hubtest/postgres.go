package hubtest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresURL is the test PostgreSQL: BELLHOP_TEST_DATABASE_URL, or the
// local server's database test as user postgres.
func PostgresURL() string {
	if u := os.Getenv("BELLHOP_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Postgres connects to the test PostgreSQL for the test's own queries, until
// the test ends. Without a server the test is skipped (fails under CI).
func Postgres(tb testing.TB) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, PostgresURL())
	if err != nil {
		Unavailable(tb, "no PostgreSQL at %s: %v", PostgresURL(), err)
	}
	tb.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// PostgresSchema returns the URL of a fresh schema of the test PostgreSQL
// (its search_path) and the schema's name. The schema is dropped when the
// test ends, after whatever the test started later (hubs, stores) has
// stopped: call it before starting them. Several hubs on one URL are the
// nodes of one cluster.
func PostgresSchema(tb testing.TB) (dbURL, schema string) {
	tb.Helper()
	conn := Postgres(tb)
	schema = "test_" + strings.ToLower(rand.Text())
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// PostgresDatabase creates a database of its own on the test PostgreSQL
// and returns its URL; it is dropped (connections and all) when the test
// ends, after what the test started later has stopped.
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	conn := Postgres(tb)
	name := "test_" + strings.ToLower(rand.Text())
	if _, err := conn.Exec(tb.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
