package sources

import (
	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
)

// Policy is what the operator lets one source's triggers reach: the files
// their ...File keys may read and the upstreams they may name. The zero
// Policy reads no file and allows every upstream.
type Policy struct {
	Files     *metadata.Files
	Upstreams *allow.List
}

// Secret reads a credential under the policy's file rules.
func (p Policy) Secret(md metadata.Metadata, key string) (string, error) {
	return p.Files.Secret(md, key)
}

// CheckUpstream is the parse-time allow-list check of an address a
// trigger names under key; the error names the key and the address.
func (p Policy) CheckUpstream(key, hostport string) error {
	if err := p.Upstreams.Check(hostport); err != nil {
		return metadata.Invalid(key, hostport, "%v", err)
	}
	return nil
}
