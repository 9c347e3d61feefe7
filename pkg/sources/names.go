package sources

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// maxMetricName keeps "s<index>-" + name well inside the 63 characters a
// Kubernetes label value allows, since KEDA prefixes the name it gets.
const maxMetricName = 60

// MetricName turns raw (e.g. "kafka-<group>-<topics>") into a metric name:
// lowercased, every character outside [a-z0-9.-] replaced by '-'. Names
// longer than 60 characters keep their first 51 and end in "-" plus 8 hex
// digits of the FNV-1a hash of the full sanitized name: stable across
// processes and versions, and distinct for names that share a long prefix.
func MetricName(raw string) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, raw)
	if len(name) <= maxMetricName {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s-%08x", name[:maxMetricName-9], h.Sum32())
}

// Fingerprint is 12 hex digits of SHA-256 over credentials, each
// length-prefixed so that moving bytes between fields changes the result;
// "" when every credential is empty. It lets Endpoint.Key tell apart
// clients with different credentials without holding a secret.
func Fingerprint(creds ...string) string {
	if strings.Join(creds, "") == "" {
		return ""
	}
	h := sha256.New()
	var n [8]byte
	for _, c := range creds {
		binary.BigEndian.PutUint64(n[:], uint64(len(c)))
		h.Write(n[:])
		h.Write([]byte(c))
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
