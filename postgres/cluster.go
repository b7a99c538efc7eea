package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Limits and defaults of the private cluster.
const (
	// LocalPortDefault is the loopback port of the private cluster: away from 5432 so that it never collides
	// with a system PostgreSQL a developer already runs.
	LocalPortDefault = 54329
	// localStartTimeout bounds pg_ctl start -w; a cold initdb plus start takes a few seconds on 2 cores.
	localStartTimeout = 60 * time.Second
	// aptTimeout bounds installing Debian's postgresql package on a fresh machine.
	aptTimeout    = 10 * time.Minute
	localDatabase = "tasvieh"
)

// LocalCluster describes a private PostgreSQL cluster kept under a project-local folder.
type LocalCluster struct {
	Dir  string // data folder parent: Dir/data holds the cluster, Dir/log the server log
	Port int
}

// URL is the connection string of the cluster's tasvieh database.
func (c LocalCluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, localDatabase)
}

// EnsureLocal makes sure a private cluster runs under dir and returns its URL: it installs Debian's postgresql
// package when no server binaries are found, creates the cluster with initdb (as the postgres user when running
// as root, because initdb refuses root), starts it on loopback and creates the tasvieh database. It is safe to
// call from several processes at once: a file lock serialises them, and a running cluster is reused.
func EnsureLocal(ctx context.Context, c LocalCluster, log *slog.Logger) (string, error) {
	if c.Port == 0 {
		c.Port = LocalPortDefault
	}
	// The server runs as another user from another working directory: it needs an absolute path.
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return "", fmt.Errorf("postgres: local cluster folder: %w", err)
	}
	c.Dir = dir
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", fmt.Errorf("postgres: local cluster folder: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(c.Dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("postgres: lock file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("postgres: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	bin, err := serverBinaries(ctx, log)
	if err != nil {
		return "", err
	}
	owner, err := clusterOwner()
	if err != nil {
		return "", err
	}
	data := filepath.Join(c.Dir, "data")
	portFile := filepath.Join(c.Dir, "port")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		// Another cluster (another checkout's) may hold the default port: take the first free one after it
		// and remember it beside the data.
		c.Port = freePort(c.Port)
		if err := os.WriteFile(portFile, []byte(strconv.Itoa(c.Port)), 0o644); err != nil {
			return "", err
		}
		log.Info("creating private postgresql cluster", "dir", data, "port", c.Port)
		if err := os.MkdirAll(data, 0o700); err != nil {
			return "", err
		}
		if err := owner.chown(c.Dir, data); err != nil {
			return "", err
		}
		if _, err := owner.run(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres",
			"--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8"); err != nil {
			return "", fmt.Errorf("postgres: initdb: %w", err)
		}
		// Durability stays whole (fsync, synchronous_commit, full-page writes all on). wal_compression = lz4
		// compresses the full-page images every page's first change after a checkpoint writes to the WAL, so the
		// writes just after a checkpoint are not several times larger than the rest (the ledger bench's
		// latency phase issues one; the account_batches index takes one image per account's leaf page); the
		// checkpoint spreads its own writes over 90 % of the interval (PostgreSQL's default since 14, stated).
		// These apply to a cluster created from here on: an existing one keeps its postgresql.conf.
		conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = ''
max_connections = 200
shared_buffers = 512MB
wal_buffers = 64MB
max_wal_size = 4GB
checkpoint_timeout = 15min
fsync = on
synchronous_commit = on
wal_compression = lz4
checkpoint_completion_target = 0.9
`, c.Port)
		f, err := os.OpenFile(filepath.Join(data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return "", err
		}
		_, err = f.WriteString(conf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
	}
	if b, err := os.ReadFile(portFile); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			c.Port = p
		}
	}
	pgctl := filepath.Join(bin, "pg_ctl")
	if _, err := owner.run(ctx, pgctl, "status", "-D", data); err != nil {
		log.Info("starting private postgresql cluster", "dir", data, "port", c.Port)
		logFile := filepath.Join(c.Dir, "server.log")
		if err := owner.chown(logFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		sctx, cancel := context.WithTimeout(ctx, localStartTimeout)
		defer cancel()
		if out, err := owner.run(sctx, pgctl, "start", "-w", "-D", data, "-l", logFile); err != nil {
			tail, _ := os.ReadFile(logFile)
			return "", fmt.Errorf("postgres: pg_ctl start: %w: %s\n%s", err, out, lastLines(tail, 20))
		}
	}
	psql := filepath.Join(bin, "psql")
	if _, err := exec.LookPath(psql); err != nil {
		psql = "psql"
	}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	out, err := exec.CommandContext(ctx, psql, admin, "-tAc",
		"SELECT 1 FROM pg_database WHERE datname = '"+localDatabase+"'").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("postgres: psql: %w: %s", err, out)
	}
	if strings.TrimSpace(string(out)) != "1" {
		if out, err := exec.CommandContext(ctx, psql, admin, "-c", "CREATE DATABASE "+localDatabase).CombinedOutput(); err != nil {
			return "", fmt.Errorf("postgres: create database: %w: %s", err, out)
		}
	}
	return c.URL(), nil
}

// StopLocal stops the private cluster under dir, if it runs.
func StopLocal(ctx context.Context, c LocalCluster) error {
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = dir
	bin, err := serverBinaries(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	owner, err := clusterOwner()
	if err != nil {
		return err
	}
	data := filepath.Join(c.Dir, "data")
	if _, err := owner.run(ctx, filepath.Join(bin, "pg_ctl"), "status", "-D", data); err != nil {
		return nil
	}
	_, err = owner.run(ctx, filepath.Join(bin, "pg_ctl"), "stop", "-m", "fast", "-w", "-D", data)
	return err
}

// portsTried bounds the search for a free loopback port.
const portsTried = 100

// freePort returns the first port from p on that nothing listens on at 127.0.0.1.
func freePort(p int) int {
	for i := 0; i < portsTried; i++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
		if err == nil {
			l.Close()
			return p + i
		}
	}
	return p
}

// serverBinaries finds the newest installed PostgreSQL server (Debian layout), installing Debian's package when
// none is there.
func serverBinaries(ctx context.Context, log *slog.Logger) (string, error) {
	if dir := findServer(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", errors.New("postgres: no PostgreSQL server found and not root to install it: apt-get install postgresql, or set DATABASE_URL")
	}
	log.Info("installing postgresql from Debian packages")
	actx, cancel := context.WithTimeout(ctx, aptTimeout)
	defer cancel()
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "postgresql", "postgresql-client"}} {
		cmd := exec.CommandContext(actx, "apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("postgres: apt-get %s: %w: %s", args[0], err, lastLines(out, 20))
		}
	}
	if dir := findServer(); dir != "" {
		return dir, nil
	}
	return "", errors.New("postgres: installed postgresql but found no server binaries under /usr/lib/postgresql")
}

func findServer() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Slice(matches, func(i, j int) bool { return versionOf(matches[i]) > versionOf(matches[j]) })
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	return ""
}

func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// owner runs cluster commands as the user who owns the cluster: the postgres user when we are root.
type owner struct {
	name     string
	uid, gid int
	asRoot   bool
}

func clusterOwner() (owner, error) {
	if os.Geteuid() != 0 {
		return owner{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		// Debian's package creates the user; a server unpacked by hand may not have.
		if out, err := exec.Command("useradd", "--system", "--user-group", "--home-dir", "/var/lib/postgresql", "postgres").CombinedOutput(); err != nil {
			return owner{}, fmt.Errorf("postgres: create postgres user: %w: %s", err, out)
		}
		if u, err = user.Lookup("postgres"); err != nil {
			return owner{}, fmt.Errorf("postgres: postgres user: %w", err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return owner{name: "postgres", uid: uid, gid: gid, asRoot: true}, nil
}

func (o owner) chown(paths ...string) error {
	if !o.asRoot {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, o.uid, o.gid); err != nil {
			return fmt.Errorf("postgres: chown %s: %w", p, err)
		}
	}
	return nil
}

func (o owner) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if o.asRoot {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(o.uid), Gid: uint32(o.gid)}}
		cmd.Dir = "/"
	}
	// pg_ctl start leaves the server running with our stdout open unless output goes to a file or nowhere:
	// CombinedOutput would then wait for the server to exit.
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return buf.Bytes(), err
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
