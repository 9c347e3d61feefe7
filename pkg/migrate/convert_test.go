package migrate

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// TestMappingNamesTideKeys: every key the table calls same or renamed is
// one the Tide source reads, so a converted trigger never carries a key
// Tide refuses as unknown; every dropped key is one it does not read.
func TestMappingNamesTideKeys(t *testing.T) {
	keys := map[string][]string{"kafka": kafka.Keys(), "redis": redis.Keys(), "inference": inference.Keys()}
	for _, m := range Mappings {
		for _, k := range m.Keys {
			tide := k.KEDA
			if k.Fate == Renamed {
				tide = k.Tide
			}
			reads := slices.Contains(keys[m.Source], tide)
			switch k.Fate {
			case Same, Renamed:
				if !reads {
					t.Errorf("%s: %s is %s, but source %s does not read %q", m.Type, k.KEDA, k.Fate, m.Source, tide)
				}
			case Dropped:
				if reads {
					t.Errorf("%s: %s is %s, but source %s reads it", m.Type, k.KEDA, k.Fate, m.Source)
				}
			}
		}
		for k := range m.Fixed {
			if !slices.Contains(keys[m.Source], k) {
				t.Errorf("%s: fixed key %q is not read by %s", m.Type, k, m.Source)
			}
		}
	}
}

// TestConvert checks renamed, dropped and unsupported keys and values.
func TestConvert(t *testing.T) {
	tests := []struct {
		name     string
		typ      string
		md       map[string]string
		want     map[string]string
		note     string
		problems []string
	}{
		{"kafka same keys, dropped fullMetadata", "kafka", map[string]string{"bootstrapServers": "k:9092", "consumerGroup": "g", "fullMetadata": "false"},
			map[string]string{"source": "kafka", "bootstrapServers": "k:9092", "consumerGroup": "g"}, `"fullMetadata": dropped`, nil},
		{"kafka gssapi and keytab", "kafka", map[string]string{"bootstrapServers": "k:9092", "consumerGroup": "g", "sasl": "gssapi", "keytab": "x"},
			map[string]string{"source": "kafka", "bootstrapServers": "k:9092", "consumerGroup": "g"}, "", []string{`"keytab"`, "gssapi"}},
		{"kafka FromEnv Tide lacks", "kafka", map[string]string{"bootstrapServersFromEnv": "B", "consumerGroup": "g"},
			map[string]string{"source": "kafka", "consumerGroup": "g"}, "", []string{`"bootstrapServersFromEnv"`}},
		{"redis-cluster Cert", "redis-cluster", map[string]string{"addresses": "a:1,b:2", "listName": "q", "Cert": "PEM"},
			map[string]string{"source": "redis", "redisType": "cluster", "addresses": "a:1,b:2", "listName": "q", "cert": "PEM"}, `renamed cert`, nil},
		{"redis keyPassword", "redis", map[string]string{"address": "a:1", "listName": "q", "keyPassword": "p"},
			map[string]string{"source": "redis", "address": "a:1", "listName": "q"}, "", []string{`"keyPassword"`}},
		{"redis unknown key", "redis", map[string]string{"address": "a:1", "listName": "q", "listLenght": "5"},
			map[string]string{"source": "redis", "address": "a:1", "listName": "q"}, `"listLenght": KEDA's redis trigger does not read it`, nil},
		{"prometheus renames", "prometheus", map[string]string{"serverAddress": "http://p:9090", "query": "up", "threshold": "1",
			"namespace": "web", "queryParameters": "a=b", "authMode": "bearer", "token": "T"},
			map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": "http://p:9090", "query": "up", "threshold": "1",
				"queryParameters": "a=b,namespace=web", "authModes": "bearer", "bearerToken": "T"}, "queryParameters namespace=web", nil},
		{"prometheus oauth and aws", "prometheus", map[string]string{"serverAddress": "http://p", "query": "up", "threshold": "1", "authModes": "oauth", "awsRegion": "eu-west-1"},
			map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": "http://p", "query": "up", "threshold": "1", "authModes": "oauth"},
			"", []string{`"awsRegion"`, "oauth is not supported"}},
		{"not a converted type", "rabbitmq", map[string]string{"queueName": "q"}, nil, "", []string{`"rabbitmq"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Convert(tc.typ, tc.md)
			if tc.want != nil && !equal(r.Metadata, tc.want) {
				t.Errorf("metadata %v; want %v", r.Metadata, tc.want)
			}
			if !strings.Contains(strings.Join(r.Notes, "\n"), tc.note) {
				t.Errorf("notes %q lack %q", r.Notes, tc.note)
			}
			if len(r.Problems) != len(tc.problems) {
				t.Errorf("problems %q; want %d", r.Problems, len(tc.problems))
			}
			for _, p := range tc.problems {
				if !strings.Contains(strings.Join(r.Problems, "\n"), p) {
					t.Errorf("problems %q lack %q", r.Problems, p)
				}
			}
		})
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRewritePassesTideValidation rewrites KEDA-style ScaledObjects (a
// multi-document file with a Secret and a Deployment first) and parses every
// converted trigger with Tide's own registry, as serve would. KEDA resolves
// <key>FromEnv before it forwards metadata, so the test does too.
func TestRewritePassesTideValidation(t *testing.T) {
	b, err := os.ReadFile("testdata/keda-builtin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, others, err := ScaledObjects(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 3 || others != 2 {
		t.Fatalf("%d ScaledObjects and %d other documents; want 3 and 2", len(docs), others)
	}
	reg := builtin.Registry(builtin.Options{})
	resolved := map[string]string{"REDIS_ADDRESS": "redis.queues:6379", "REDIS_PASSWORD": "secret"}
	converted := 0
	for _, d := range docs {
		rep := d.Rewrite(Target{ScalerAddress: "tide:9090", Push: true})
		if len(rep.Problems) > 0 {
			t.Errorf("%s: problems %q", d.Name, rep.Problems)
		}
		converted += rep.Converted
		for i, tr := range d.Triggers() {
			if tr["type"] == "cpu" {
				continue
			}
			if tr["type"] != "external-push" {
				t.Errorf("%s trigger %d: type %v", d.Name, i, tr["type"])
			}
			md := Stringify(tr["metadata"])
			for k, v := range md {
				if strings.HasSuffix(k, "FromEnv") {
					md[k] = resolved[v]
				}
			}
			if _, err := reg.Parse(md); err != nil {
				t.Errorf("%s trigger %d: Tide refuses the converted metadata %v: %v", d.Name, i, md, err)
			}
		}
		if _, err := d.YAML(); err != nil {
			t.Fatal(err)
		}
	}
	if converted != 4 {
		t.Errorf("converted %d triggers; want 4", converted)
	}
}

// TestRewriteReportsWhatItCannotConvert: Kerberos, an env-only broker list,
// SigV4 and a TriggerAuthentication are named, trigger by trigger.
func TestRewriteReportsWhatItCannotConvert(t *testing.T) {
	b, err := os.ReadFile("testdata/keda-unconvertible.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, _, err := ScaledObjects(b)
	if err != nil {
		t.Fatal(err)
	}
	rep := docs[0].Rewrite(Target{ScalerAddress: "tide:9090"})
	got := strings.Join(rep.Problems, "\n")
	for _, w := range []string{"trigger 0 (kafka): key \"sasl\": gssapi", `"bootstrapServersFromEnv"`, "authenticationRef kafka-kerberos",
		"trigger 1 (prometheus): key \"awsRegion\""} {
		if !strings.Contains(got, w) {
			t.Errorf("problems lack %q:\n%s", w, got)
		}
	}
}

// TestPick: several ScaledObjects need a name; none is an error.
func TestPick(t *testing.T) {
	docs := []Document{{Name: "a"}, {Name: "b"}}
	if d, err := Pick(docs, "b"); err != nil || d.Name != "b" {
		t.Errorf("Pick b: %v %v", d.Name, err)
	}
	for _, tc := range []struct {
		docs []Document
		name string
		want string
	}{{docs, "", "there are 2"}, {docs, "c", `none is named "c"`}, {nil, "", "there is none"}} {
		if _, err := Pick(tc.docs, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pick(%q): %v; want %q", tc.name, err, tc.want)
		}
	}
}

// TestREADMEMigrationTable: the README's table is MarkdownTable's.
func TestREADMEMigrationTable(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), MarkdownTable()) {
		t.Errorf("README.md lacks the migration table; it should read:\n%s", MarkdownTable())
	}
}
