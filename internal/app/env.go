package app

import (
	"net/http"
	"time"

	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// Environment is what the process lends to sources: Kubernetes discovery
// (when the process has a Kubernetes client: internal/app/kubeapp) and,
// with a push token, the push store and its POST /v1/push route. serve and
// explain build the same one, so a trigger means the same to both.
type Environment struct {
	sources builtin.Options
	// Handlers are the HTTP routes the sources need (the push route).
	Handlers map[string]http.Handler
}

// NewEnvironment lends discovery (nil: inference triggers with `service`
// are refused, naming the key) and, when pushToken is not empty, the push
// store; now is the store's clock. opts carries the operator's file and
// upstream policy; its Inference field is filled here. The caller owns
// discovery and closes it.
func NewEnvironment(discovery inference.Discovery, opts builtin.Options, pushToken []byte, now func() time.Time) *Environment {
	return newEnvironment(discovery, opts, pushToken, nil, now)
}

// newEnvironment is NewEnvironment whose push store forwards what it
// accepts through fwd (nil: to nobody). With a push token the forward
// route is mounted either way: a replica stores what its peers forward
// even while it forwards nothing itself (a rollout turning it on).
func newEnvironment(discovery inference.Discovery, opts builtin.Options, pushToken []byte, fwd *inference.Forwarder, now func() time.Time) *Environment {
	opts.Inference = inference.Env{Discovery: discovery}
	e := &Environment{sources: opts}
	if len(pushToken) > 0 {
		so, self := inference.StoreOptions{Now: now}, ""
		if fwd != nil {
			so.Forward, self = fwd.Forward, fwd.ID()
		}
		store := inference.NewStore(so)
		e.sources.Inference.Push = store
		e.Handlers = map[string]http.Handler{
			inference.PushPattern:    store.Handler(pushToken),
			inference.ForwardPattern: store.ForwardedHandler(pushToken, self),
		}
	}
	return e
}

// Registry is the built-in sources with this environment.
func (e *Environment) Registry() *trigger.Registry { return builtin.Registry(e.sources) }
