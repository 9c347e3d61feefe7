//go:build !linux

package fdcapture

// Supported reports whether Stderr captures on this platform.
const Supported = false

// Stderr captures nothing here: stop returns "".
func Stderr() (stop func() string, err error) { return func() string { return "" }, nil }
