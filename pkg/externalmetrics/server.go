package externalmetrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"

	"github.com/tide-scaler/tide/pkg/server"
)

// DefaultSecurePort is the port the API is served on when Options has none;
// the APIService's Service targets it.
const DefaultSecurePort = 6443

// Options configure Serve. Only ConfigFile and Reader are required.
type Options struct {
	// ConfigFile is the YAML trigger configuration, reloaded when it
	// changes (a mounted ConfigMap in Kubernetes).
	ConfigFile string
	// Config, when set, is an already open ConfigFile whose owner watches
	// it: Serve reads it instead of opening and watching ConfigFile a
	// second time (the standalone loops share the same file).
	Config *ConfigFile
	// ReloadInterval is how often ConfigFile is checked (default
	// DefaultReloadInterval).
	ReloadInterval time.Duration

	// SecurePort and BindAddress are where HTTPS is served (default 6443
	// on all addresses). Listener, when set, is used instead of both.
	SecurePort  int
	BindAddress string
	Listener    net.Listener

	// TLSCertFile and TLSKeyFile are the serving certificate, reloaded when
	// the files change. Without them a self-signed one is generated: into
	// CertDir (and reused from there on restart) when it is set, in memory
	// otherwise. The kube-apiserver's aggregator accepts a self-signed one
	// only with insecureSkipTLSVerify in the APIService; give a caBundle and
	// a real pair for verified TLS.
	TLSCertFile, TLSKeyFile string
	CertDir                 string

	// Kubeconfig reaches the kube-apiserver that authenticates
	// (TokenReview, the front-proxy CA in kube-system's
	// extension-apiserver-authentication ConfigMap) and authorizes
	// (SubjectAccessReview) every request. Empty means the in-cluster
	// service account.
	Kubeconfig string

	// Reader is the engine the gRPC service reads too (sources.Engine).
	Reader server.Reader
	// Parsers parse trigger metadata (default server.DefaultParsers());
	// pass the gRPC service's, so both accept the same metadata.
	Parsers map[string]server.Parser
	// Logger receives Tide's logs (default slog.Default()). The API server
	// library logs through klog, which is process-global and may only be
	// redirected before any goroutine logs: to get its lines in the same
	// format, call klog.SetSlogLogger(logger) first thing in main.
	Logger *slog.Logger
	// Now stamps values whose sample has no time (default time.Now).
	Now func() time.Time
}

// apiName names the server in its logs, OpenAPI and generated certificate.
const apiName = "tide-external-metrics"

// Serve runs the external.metrics.k8s.io/v1beta1 API until ctx ends, then
// stops gracefully (in-flight requests finish). It fails at once when the
// config file is missing or invalid, or the options are.
func Serve(ctx context.Context, o Options) error {
	if o.Reader == nil {
		return errors.New("externalmetrics: Options.Reader is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReloadInterval <= 0 {
		o.ReloadInterval = DefaultReloadInterval
	}
	cf, watch := o.Config, o.Config == nil
	if watch {
		var err error
		if cf, err = OpenConfigFile(o.ConfigFile, o.Parsers, o.Logger); err != nil {
			return fmt.Errorf("external metrics config: %w", err)
		}
	}
	adapter, err := newAdapter(o)
	if err != nil {
		return err
	}
	adapter.WithExternalMetrics(NewProvider(cf.Current, o.Reader, o.Now))

	// Build the server before watching, so a bad option returns without
	// leaving a goroutine behind.
	if _, err := adapter.Server(); err != nil {
		return fmt.Errorf("external metrics API: %w", err)
	}
	if watch {
		watchCtx, stopWatch := context.WithCancel(ctx)
		defer stopWatch()
		ticker := time.NewTicker(o.ReloadInterval)
		defer ticker.Stop()
		go cf.Watch(watchCtx, ticker.C)
	}

	o.Logger.Info("serving external metrics API", "config", o.ConfigFile, "triggers", len(cf.Current().Triggers))
	return adapter.Run(ctx)
}

// newAdapter sets AdapterBase's options from o. It never parses flags: the
// adapter gets a private flag set so that nothing is added to the
// process's own (AdapterBase defaults to pflag.CommandLine, which would
// also panic on a second Serve in one process).
func newAdapter(o Options) (*cmd.AdapterBase, error) {
	a := &cmd.AdapterBase{Name: apiName, FlagSet: pflag.NewFlagSet(apiName, pflag.ContinueOnError)}
	a.InstallFlags() // fills the options with the library's defaults

	ss := a.SecureServing
	ss.BindPort = DefaultSecurePort
	if o.SecurePort != 0 {
		ss.BindPort = o.SecurePort
	}
	if o.BindAddress != "" {
		ip := net.ParseIP(o.BindAddress)
		if ip == nil {
			return nil, fmt.Errorf("external metrics bind address %q: not an IP address", o.BindAddress)
		}
		ss.BindAddress = ip
	}
	if o.Listener != nil {
		ss.Listener = o.Listener
	}
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, errors.New("external metrics TLS: give both the certificate and the key file, or neither")
	}
	ss.ServerCert.CertKey.CertFile, ss.ServerCert.CertKey.KeyFile = o.TLSCertFile, o.TLSKeyFile
	// The library's default is a directory relative to the working
	// directory; empty generates the certificate in memory instead.
	ss.ServerCert.CertDirectory = o.CertDir
	ss.ServerCert.PairName = apiName

	// One kubeconfig for everything the adapter asks of the cluster.
	a.RemoteKubeConfigFile = o.Kubeconfig
	a.Authentication.RemoteKubeConfigFile = o.Kubeconfig
	a.Authorization.RemoteKubeConfigFile = o.Kubeconfig
	return a, nil
}
