package gobuild

// Flags returns the `go build` flags that build a companion binary the way
// the running binary was built: -race when it was built with -race.
func Flags() []string {
	if race {
		return []string{"-race"}
	}
	return nil
}
