package scalercmd

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// TestPushPeerFlags: --push-peers and --push-peers-service (with --pod-ip,
// from TIDE_POD_IP as the downward API sets it) configure forwarding; the
// Service form needs the Kubernetes client; every mistake names its flag.
func TestPushPeerFlags(t *testing.T) {
	parse := func(args []string, getenv map[string]string) (serveConfig, error) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var cfg serveConfig
		cfg.register(fs)
		err := cli.ParseFlags(fs, args, env(getenv), io.Discard, "")
		if err == nil {
			err = cfg.validate()
		}
		return cfg, err
	}
	tok := []string{"--push-token-file", "/etc/tide/push/token"}
	cfg, err := parse(append(tok, "--push-peers", "http://10.0.0.2:8080,http://10.0.0.3:8080"), nil)
	if err != nil || !slices.Equal(cfg.peers.peers, inference.StaticPeers{"http://10.0.0.2:8080", "http://10.0.0.3:8080"}) || cfg.kubeConfig().Needed() {
		t.Errorf("--push-peers: %+v, %v; want two static peers, no Kubernetes client", cfg.peers, err)
	}
	cfg, err = parse(append(tok, "--push-peers-service", "tide-system/tide"), map[string]string{"TIDE_POD_IP": "10.0.0.7"})
	want := app.PushPeers{Namespace: "tide-system", Service: "tide", Port: "http", PodIP: "10.0.0.7"}
	if err != nil || cfg.peers.svc == nil || *cfg.peers.svc != want || !cfg.kubeConfig().Needed() || kubeFlag(cfg.kubeConfig()) != "--push-peers-service" {
		t.Errorf("--push-peers-service: %+v, %v; want %+v through the Kubernetes client", cfg.peers.svc, err, want)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--push-peers", "http://10.0.0.2:8080"}, "--push-token-file"},
		{append(tok, "--push-peers", "10.0.0.2:8080"), "--push-peers: peer"},
		{append(tok, "--push-peers", "http://a:1", "--push-peers-service", "ns/tide"), "set one"},
		{append(tok, "--push-peers-service", "tide", "--pod-ip", "10.0.0.7"), `--push-peers-service "tide"`},
		{append(tok, "--push-peers-service", "ns/tide"), `--pod-ip ""`},
		{append(tok, "--push-peers-service", "ns/tide", "--pod-ip", "tide-0"), `--pod-ip "tide-0"`},
		{append(tok, "--push-peers-service", "ns/tide", "--pod-ip", "10.0.0.7", "--push-peers-port", ""), "--push-peers-port"},
		{append(tok, "--push-peers-service", "ns/tide", "--pod-ip", "10.0.0.7", "--http-tls-cert", "c.pem", "--http-tls-key", "k.pem"), "--http-tls-cert"},
	} {
		if _, err := parse(tt.args, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v; want an error naming %s", tt.args, err, tt.want)
		}
	}
}
