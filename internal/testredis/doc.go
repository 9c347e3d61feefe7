// Package testredis starts real redis-server processes for tests: single
// servers (plain, password, TLS), a 3-master cluster, and a master watched
// by a sentinel. Each listens on free loopback ports, keeps its files in a
// t.TempDir(), is ready (it answers PING) when Start returns, and is stopped
// in t.Cleanup with SIGTERM, then SIGKILL if it lingers. On Linux the kernel
// also kills it if the test binary dies without cleaning up.
//
// The binaries come from Debian's redis-server and redis-tools packages
// (scripts/deps.sh installs them). Without them every helper fails the test
// with a message saying so: a skipped Redis test would pass CI while testing
// nothing.
package testredis
