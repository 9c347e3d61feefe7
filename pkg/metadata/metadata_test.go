package metadata

import (
	"errors"
	"strings"
	"testing"
)

func TestSecretErrorNamesTheSourceNotTheSecret(t *testing.T) {
	for _, tc := range []struct {
		md       Metadata
		wantKey  string
		wantPath string
	}{
		{Metadata{"key": "SECRET-PEM"}, "key", ""},
		{Metadata{"keyFromEnv": "SECRET-PEM"}, "keyFromEnv", ""},
		{Metadata{"keyFile": " /etc/tide/key.pem "}, "keyFile", "/etc/tide/key.pem"},
	} {
		err := tc.md.SecretError("key", "holds no PEM block")
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.wantKey || ce.Value != tc.wantPath || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%v: %v; want key %q, value %q and no secret", tc.md, err, tc.wantKey, tc.wantPath)
		}
	}
}
