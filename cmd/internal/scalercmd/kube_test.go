package scalercmd

import (
	"context"
	"io"

	"github.com/tide-scaler/tide/internal/app/kubeapp"
	"github.com/tide-scaler/tide/internal/explaincmd"
)

// kubeBuild is scaler-kube's Kube (cmd/scaler-kube): the tests run the
// whole command line in process, as scaler-kube does.
func kubeBuild() *Kube { return &Kube{Serve: kubeapp.Run, Explain: explaincmd.Run} }

// run is the command line of scaler-kube.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Run(ctx, args, getenv, stdout, stderr, kubeBuild())
}
