package migrate

import (
	"fmt"
	"strings"
)

// MarkdownTable is the README's key mapping table, made from Mappings so
// the two cannot disagree (TestREADMEMigrationTable).
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| KEDA trigger | KEDA key | in Tide | what changes |\n|---|---|---|---|\n")
	row := func(typ, key, fate, note string) {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", typ, key, fate, strings.ReplaceAll(note, "|", "\\|"))
	}
	for _, typ := range []string{"kafka", "redis", "redis-streams", "prometheus"} {
		m, _ := Lookup(typ)
		row(typ, "(type)", fmt.Sprintf("`source: %s`%s", m.Source, fixed(m)), "")
		for _, k := range m.Keys {
			if typ == "redis-streams" && isConn(k.KEDA) {
				continue
			}
			fate := string(k.Fate)
			if k.Fate == Renamed {
				fate = fmt.Sprintf("renamed `%s`", k.Tide)
			}
			row(typ, "`"+k.KEDA+"`", fate, k.Note)
		}
		if typ == "redis-streams" {
			row(typ, "connection keys", "as `redis`", "")
		}
	}
	return b.String()
}

func fixed(m Mapping) string {
	var s []string
	for k, v := range m.Fixed {
		s = append(s, fmt.Sprintf("`%s: %s`", k, v))
	}
	if len(s) == 0 {
		return ""
	}
	return ", " + strings.Join(s, ", ")
}

func isConn(key string) bool {
	for _, k := range redisConnKeys {
		if k.KEDA == key {
			return true
		}
	}
	return false
}
