package scalercmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/pkg/migrate"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// TestMigrateCommand runs `scaler migrate` on KEDA-style files and the
// repository's examples: the output parses, holds only ScaledObjects,
// and every converted trigger passes Tide's own validation; what cannot be
// converted is named on stderr and exits 3.
func TestMigrateCommand(t *testing.T) {
	examples, err := filepath.Glob("../../../deploy/examples/*.yaml")
	if err != nil || len(examples) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		objects   int
		converted int
		stderr    []string
	}{
		{"KEDA built-in triggers", []string{"--file", "../../../pkg/migrate/testdata/keda-builtin.yaml"}, cli.ExitOK, 3, 4,
			[]string{`ScaledObject orders trigger 0 (kafka): key "fullMetadata": dropped`, "trigger 1 (cpu): not a type Tide converts"}},
		{"one by name", []string{"--file", "../../../pkg/migrate/testdata/keda-builtin.yaml", "--name", "api", "--push=false"}, cli.ExitOK, 1, 1,
			[]string{`key "namespace": now queryParameters namespace=web`}},
		{"cannot convert", []string{"--file", "../../../pkg/migrate/testdata/keda-unconvertible.yaml"}, cli.ExitInvalidTrigger, 1, 2,
			[]string{"cannot convert: ScaledObject legacy trigger 0 (kafka): key \"sasl\": gssapi", "authenticationRef kafka-kerberos", `"awsRegion"`}},
		{"no such name", []string{"--file", "../../../pkg/migrate/testdata/keda-builtin.yaml", "--name", "nope"}, cli.ExitUsage, 0, 0, nil},
		{"no --file", nil, cli.ExitUsage, 0, 0, nil},
	}
	for _, ex := range examples {
		if b, err := os.ReadFile(ex); err != nil || !bytes.Contains(b, []byte("kind: ScaledObject")) {
			continue
		}
		// Already Tide triggers: left as they are.
		tests = append(tests, struct {
			name      string
			args      []string
			code      int
			objects   int
			converted int
			stderr    []string
		}{"example " + filepath.Base(ex), []string{"--file", ex}, cli.ExitOK, -1, 0, nil})
	}
	reg := builtin.Registry(builtin.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), append([]string{"migrate"}, tc.args...), env(nil), &out, &errb)
			if code := cli.ExitCode(err); code != tc.code {
				t.Fatalf("exit code %d, want %d: %v\n%s", code, tc.code, err, errb.String())
			}
			for _, w := range tc.stderr {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errb.String())
				}
			}
			if tc.code != cli.ExitOK && tc.code != cli.ExitInvalidTrigger {
				return
			}
			docs, others, err := migrate.ScaledObjects(out.Bytes())
			if err != nil || others != 0 || (tc.objects >= 0 && len(docs) != tc.objects) {
				t.Fatalf("output: %d ScaledObjects, %d others, %v; want %d ScaledObjects only\n%s", len(docs), others, err, tc.objects, out.String())
			}
			external := 0
			for _, d := range docs {
				for i, tr := range d.Triggers() {
					typ := tr["type"]
					if typ != "external" && typ != "external-push" {
						continue
					}
					external++
					md := migrate.Stringify(tr["metadata"])
					for k := range md {
						if strings.HasSuffix(k, "FromEnv") {
							md[k] = "resolved:6379" // KEDA resolves these before it forwards them
						}
					}
					if tc.code == cli.ExitOK && tc.converted > 0 {
						if _, err := reg.Parse(md); err != nil {
							t.Errorf("%s trigger %d: Tide refuses %v: %v", d.Name, i, md, err)
						}
					}
				}
			}
			if tc.converted == 0 && strings.Contains(out.String(), "converted by scaler migrate: 0 trigger(s)") {
				return
			}
			if !strings.Contains(out.String(), "converted by scaler migrate") || external < tc.converted {
				t.Errorf("%d external triggers, want at least %d:\n%s", external, tc.converted, out.String())
			}
		})
	}
}
