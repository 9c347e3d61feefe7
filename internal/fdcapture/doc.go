// Package fdcapture captures what the process writes to file descriptor 2,
// including writers that hold the original *os.File (go-redis's and the
// standard library's default loggers), for tests that must see every byte a
// program emits.
package fdcapture
