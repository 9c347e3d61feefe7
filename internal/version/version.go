package version

import (
	"cmp"
	"runtime"
	"runtime/debug"
)

// version and revision are set at link time (the Makefile's build target):
//
//	go build -ldflags "-X github.com/tide-scaler/tide/internal/version.version=v1.2.3"
//
// The toolchain's own stamp is missing where the Makefile's git commands
// still work: -buildvcs=false, and git worktrees (Go takes only a .git
// directory for a repository root).
var version, revision string

// Info describes one build.
type Info struct {
	// Version is the -ldflags value; without one, the main module's version
	// the toolchain stamped (a tag or pseudo-version); without that, the
	// short revision ("-dirty" when the tree had changes); else "dev".
	Version string
	// Revision is the -ldflags value; without one, the VCS commit the
	// toolchain stamped ("-dirty" when the tree had changes); else
	// "unknown" (go test, -buildvcs=false).
	Revision string
	// CommitTime is the commit's time (RFC 3339) as the build recorded it,
	// or "". The toolchain records no build time, and stamping one would
	// make builds irreproducible.
	CommitTime string
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Get is this binary's Info.
func Get() Info { return From(Info{Version: version, Revision: revision}, debug.ReadBuildInfo) }

// From completes the -ldflags values in set ("" when unset) from a reader
// of the binary's build information (debug.ReadBuildInfo).
func From(set Info, read func() (*debug.BuildInfo, bool)) Info {
	in := Info{Version: set.Version, Revision: set.Revision, GoVersion: runtime.Version()}
	bi, ok := read()
	if !ok || bi == nil {
		in.Version = cmp.Or(in.Version, "dev")
		in.Revision = cmp.Or(in.Revision, "unknown")
		return in
	}
	if bi.GoVersion != "" {
		in.GoVersion = bi.GoVersion
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			in.CommitTime = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	dirty := ""
	if modified {
		dirty = "-dirty"
	}
	switch {
	case in.Revision != "":
	case rev != "":
		in.Revision = rev + dirty
	default:
		in.Revision = "unknown"
	}
	switch {
	case in.Version != "":
	case bi.Main.Version != "" && bi.Main.Version != "(devel)":
		in.Version = bi.Main.Version
	case rev != "":
		in.Version = rev[:min(len(rev), 12)] + dirty
	default:
		in.Version = "dev"
	}
	return in
}
