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

	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// DefaultSecurePort is the port the API is served on when Options has none;
// the APIService's Service targets it.
const DefaultSecurePort = 6443

// Options configure Serve. Workloads and Cache are required.
type Options struct {
	// Workloads is the open workload file; its owner reloads it, and each
	// request reads the configuration in force.
	Workloads *workload.File
	// Cache is the trigger core's cache the file's entries are held in,
	// the one the gRPC service reads too.
	Cache *trigger.Cache

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
	// (SubjectAccessReview) every request; empty is the in-cluster service
	// account. It is a path, not a client: the API server library builds
	// its delegated authentication and authorization clients from it.
	Kubeconfig string

	// Logger receives Tide's lines (default slog.Default()). The API
	// server library logs through klog, which Serve leaves alone: its
	// lines go wherever the process pointed klog, by default klog's own
	// format on stderr.
	Logger *slog.Logger
	// Now stamps values whose sample has no time (default time.Now).
	Now func() time.Time
}

// apiName names the server in its logs, OpenAPI and generated certificate.
const apiName = "tide-external-metrics"

// Serve runs the external.metrics.k8s.io/v1beta1 API until ctx ends, then
// stops gracefully (in-flight requests finish). It fails at once when the
// options are invalid.
func Serve(ctx context.Context, o Options) error {
	if o.Workloads == nil || o.Cache == nil {
		return errors.New("externalmetrics: Options.Workloads and Options.Cache are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	adapter, err := newAdapter(o)
	if err != nil {
		return err
	}
	adapter.WithExternalMetrics(NewProvider(o.Workloads.Current, o.Cache, o.Now))
	if _, err := adapter.Server(); err != nil {
		return fmt.Errorf("external metrics API: %w", err)
	}
	o.Logger.Info("serving external metrics API", "triggers", len(o.Workloads.Current().Workloads))
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
