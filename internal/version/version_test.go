package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func buildInfo(mainVersion string, settings ...string) func() (*debug.BuildInfo, bool) {
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Path: "github.com/tide-scaler/tide", Version: mainVersion}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	return func() (*debug.BuildInfo, bool) { return bi, true }
}

const rev = "0123456789abcdef0123456789abcdef01234567"

func TestFrom(t *testing.T) {
	vcs := []string{"vcs", "git", "vcs.revision", rev, "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false"}
	dirty := []string{"vcs.revision", rev, "vcs.modified", "true"}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	tests := []struct {
		name    string
		ldflags Info
		read    func() (*debug.BuildInfo, bool)
		want    Info
	}{
		{"ldflags win over the stamp", Info{Version: "v1.2.3", Revision: "fedcba"}, buildInfo("v0.0.0-20260102030405-0123456789ab", vcs...),
			Info{Version: "v1.2.3", Revision: "fedcba", CommitTime: "2026-01-02T03:04:05Z", GoVersion: "go1.99.1"}},
		{"stamped module version", Info{}, buildInfo("v0.4.0", vcs...),
			Info{Version: "v0.4.0", Revision: rev, CommitTime: "2026-01-02T03:04:05Z", GoVersion: "go1.99.1"}},
		{"devel falls back to the short revision", Info{}, buildInfo("(devel)", vcs...),
			Info{Version: "0123456789ab", Revision: rev, CommitTime: "2026-01-02T03:04:05Z", GoVersion: "go1.99.1"}},
		{"ldflags version, stamped revision", Info{Version: "v1.2.3"}, buildInfo("(devel)", dirty...),
			Info{Version: "v1.2.3", Revision: rev + "-dirty", GoVersion: "go1.99.1"}},
		{"modified tree is dirty", Info{}, buildInfo("(devel)", dirty...),
			Info{Version: "0123456789ab-dirty", Revision: rev + "-dirty", GoVersion: "go1.99.1"}},
		{"no vcs, no version", Info{}, buildInfo("(devel)"),
			Info{Version: "dev", Revision: "unknown", GoVersion: "go1.99.1"}},
		{"no build info", Info{}, none, Info{Version: "dev", Revision: "unknown", GoVersion: runtime.Version()}},
		{"no build info, ldflags", Info{Version: "v2.0.0", Revision: "abc"}, none, Info{Version: "v2.0.0", Revision: "abc", GoVersion: runtime.Version()}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := From(tc.ldflags, tc.read); got != tc.want {
				t.Errorf("From(%+v) = %+v; want %+v", tc.ldflags, got, tc.want)
			}
		})
	}
}

// TestGet: an unstamped test binary still names its toolchain and a version.
func TestGet(t *testing.T) {
	in := Get()
	if in.GoVersion != runtime.Version() || in.Version == "" || in.Revision == "" {
		t.Errorf("Get() = %+v", in)
	}
}
